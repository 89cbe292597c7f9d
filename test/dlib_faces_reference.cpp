// The reference for fvc's HOG face boxes: dlib's own PNG loader and frontal face
// detector called as dlib's Python `detector(img, upsample)` does (pyramid_up the RGB
// image `upsample` times, detect, map each box back and round it). python3-dlib is not
// packaged for Debian 12, so this program stands in for it, built by test/faces.test.ts.
// Prints one JSON array per image: [[left, top, right, bottom, score], ...].
#include <dlib/image_io.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s UPSAMPLE IMAGE.png...\n", argv[0]);
    return 2;
  }
  const int upsample = std::atoi(argv[1]);
  dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
  for (int i = 2; i < argc; ++i) {
    dlib::array2d<dlib::rgb_pixel> img;
    dlib::load_image(img, argv[i]);
    dlib::pyramid_down<2> pyr;
    for (int k = 0; k < upsample; ++k) dlib::pyramid_up(img, pyr);
    std::vector<dlib::rect_detection> found;
    detector(img, found, 0.0);
    std::printf("[");
    for (size_t k = 0; k < found.size(); ++k) {
      const dlib::rectangle r = upsample > 0 ? dlib::rectangle(pyr.rect_down(found[k].rect, upsample)) : found[k].rect;
      std::printf("%s[%ld,%ld,%ld,%ld,%.17g]", k ? "," : "", r.left(), r.top(), r.right(), r.bottom(), found[k].detection_confidence);
    }
    std::printf("]\n");
  }
  return 0;
}
