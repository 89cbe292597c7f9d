#pragma once
#include <napi.h>

#include "faces/face_crop.h"

namespace fvc {

// A request's `faces` object ({ detector, model, margin, upsample, detectSize, minScore }),
// each field checked and named.
FaceCropOptions readFaceCropOptions(const Napi::Object& faces);
// { x, y, side, face } of a crop square.
Napi::Object cropSquareObject(Napi::Env env, const CropSquare& square);

// detectFaces({ frames: .npy uint8 [N, H, W, 3], faces }) (promise): every detection and
// the tracked crop square per frame, as the frame cache and Stage 3 cut them.
void registerFacesApi(Napi::Env env, Napi::Object exports);

}  // namespace fvc
