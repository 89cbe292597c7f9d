#pragma once
// Schema 3: motion that is out of step. A face re-enacted or pasted from another moment
// can match its surroundings in colour, noise and sharpness and differ only in how it
// moves. Between each sampled frame and the next frame of the stream, dense optical flow
// (OpenCV's Farneback) is averaged per cell of the local-feature grid; each cell's motion
// is compared with the frame's global motion (the per-component median over cells) and
// with its four neighbours' mean, and those maps are summarised over cells and frames
// like the other local features (README "Motion features (schema 3)").
#include <optional>
#include <string>
#include <vector>

namespace fvc {

const std::vector<std::string>& motionFeatureNames();

// frames: 2 x count RGB frames (each sampled frame followed by its successor). Appends
// motionFeatureNames().size() values (missing below 4 cells).
void appendMotionFeatures(std::vector<std::optional<double>>& out, const unsigned char* frames, int count, int width, int height);

}  // namespace fvc
