#pragma once
// The deep-learning engine as the rest of the core sees it: plain C++ types only,
// so the JS-facing API compiles without LibTorch's headers.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fvc::deep {

// Width multiplies every channel count; depth > 0 caps the blocks per stage.
// Tests and CPU demos train small variants; 1.0 / 0 is the published architecture.
struct Scale {
  double width = 1.0;
  int depth = 0;
};

// What one clip looks like to a model.
enum class ClipLayout {
  Rgb,       // [3, T, S, S]: a square crop
  RgbFlow,   // [5, T, S, S]: the crop's RGB, then its optical flow (dx, dy) from the entry's flow file
  RgbMask,   // [4, T, H, W]: the frames at their own aspect ratio (longer side S), then a validity
             // mask; a batch is zero-padded to its largest frame and the mask marks what is real
  RgbPairs,  // [3, T, S, S]: frames at their own size (never scaled: scaling smooths the traces a
             // forensic model looks for) in adjacent pairs (sample, successor), cropped at
             // multiples of 8 px so the codec's block grid keeps its phase, and when training
             // within 32 px of the centre crop
};

// How an architecture's input is prepared, as torchvision's weight transforms and
// PyTorchVideo's presets carry it: frames are cached at frameSize (short side,
// letterboxed), cropped to the input's H x W and normalised with mean / std.
struct Preset {
  int64_t frameSize = 128;
  std::vector<float> mean{0.43216f, 0.394666f, 0.37645f};  // Kinetics-400, torchvision's video models
  std::vector<float> std{0.22803f, 0.22145f, 0.216989f};
  int64_t minSide = 1;  // the smallest crop its layers can take (Inception v3: 75)
};

struct ModelDescription {
  std::string name;
  std::string family;
  std::string description;
  std::string layout;  // "rgb", "rgb+flow", "rgb+mask", "rgb+pairs"
  // One input tensor's shape without the batch dimension: [C, T, H, W].
  std::vector<int64_t> inputShape;
  int64_t parameters = 0;
  Preset preset;
  int64_t embeddingDim = 0;  // columns of its feature-extraction table; 0: not a backbone
};

std::vector<std::string> modelNames();
ModelDescription describeModel(const std::string& name, int64_t numClasses, const Scale& scale);

struct LogitsRequest {
  std::string model;
  int64_t numClasses = 2;
  Scale scale;
  std::string weights;  // .safetensors; empty: the model's own initialisation (seeded)
  std::string input;    // float32 .npy [C, T, H, W] or [B, C, T, H, W]
  uint64_t seed = 0;
  bool embedding = false;  // the model's embedding (its feature-extraction row) instead of logits
  // With labels (one per clip): the gradient of the mean cross-entropy with respect to
  // every parameter, in eval mode (no dropout), written to this .safetensors file.
  std::vector<int64_t> labels;
  std::string gradients;
};

struct LogitsResult {
  std::vector<float> logits;
  std::vector<int64_t> shape;
  int64_t loaded = 0;             // tensors taken from the file
  std::vector<std::string> head;  // head tensors left initialised (class count differs)
};

LogitsResult logits(const LogitsRequest& request);

// One clip for training or prediction: a frame-cache entry (uint8 .npy [N, H, W, 3]).
struct Clip {
  std::string npy;
  int label = 0;
  std::string flow;  // ClipLayout::RgbFlow: uint8 .npy [N, H, W, 2] beside the frames (computeFlow)
};

// How clips become model input: T frames sampled uniformly from the entry, a
// square crop (random when training, central otherwise), a horizontal flip at
// random when training, then Kinetics mean / std normalisation, [C, T, S, S].
struct ClipInput {
  int numFrames = 8;
  int cropSize = 112;
  bool augment = true;
  ClipLayout layout = ClipLayout::Rgb;  // set from the model, not by callers
  std::vector<float> mean, std;         // empty: the model's preset's; else the weights' own (3 values each)
};

// Optical flow between consecutive frames of a frame-cache entry (uint8 [N, H, W, 3]),
// written as uint8 [N, H, W, 2]: value = 128 + 8 * displacement in pixels (±16 px at
// 1/8 px), the last frame repeating the previous flow. method: "dis" (OpenCV's DIS,
// fast preset) or "farneback".
void computeFlow(const std::string& framesNpy, const std::string& flowNpy, const std::string& method);
constexpr float kFlowScale = 8.f;

// The training request's scalar options, each declared once: X(type, name, default,
// min, max). They make TrainRequest's fields, the addon's reader (which refuses a value
// outside [min, max] naming the field) and deepTrainFields(), which a test compares
// with ts/native/deep-train-fields.ts, the TypeScript side's one declaration of them.
// A new option is a line here, its use in trainer.cpp and a line there.
#define FVC_DEEP_TRAIN_OPTIONS(X)                                                                                \
  X(int, epochs, 20, 1, 100000)                                                                                  \
  X(int, batchSize, 8, 1, 65536)              /* clips per optimiser step (effective) */                         \
  X(int, microBatch, 0, 0, 65536)             /* clips per forward pass; 0 = batchSize; smaller accumulates */   \
  X(double, lrBackbone, 5e-6, 0, 10)          /* pretrained layers */                                            \
  X(double, lrHead, 5e-4, 0, 10)              /* the head, and every layer when training from scratch */         \
  X(double, weightDecay, 1e-4, 0, 10)         /* transformers: none on norms, biases, positions, class tokens */ \
  X(double, layerDecay, 1.0, 1e-6, 1)         /* BEiT's layer-wise decay: block i of L at layerDecay^(L+1-i) */  \
  X(bool, gradientCheckpointing, false, 0, 1) /* recompute transformer blocks in the backward pass */            \
  X(int, warmupEpochs, 2, 0, 100000)                                                                             \
  X(double, maxGradNorm, 1.0, 1e-6, 1e9)                                                                         \
  X(int, patience, 5, 1, 100000)                                                                                 \
  X(bool, classWeights, true, 0, 1)                                                                              \
  X(bool, mixedPrecision, true, 0, 1) /* bf16 autocast on CUDA; CPU always runs float32 */                       \
  X(int, loaderThreads, 2, 1, 256)                                                                               \
  X(double, labelSmoothing, 0.0, 0, 1) /* training loss only, as PyTorch's CrossEntropyLoss(label_smoothing) */  \
  X(bool, syncBatchNorm, false, 0, 1)  /* data-parallel: batch statistics over every rank's clips (SyncBatchNorm) */

struct TrainRequest {
  std::string model;
  Scale scale;
  int64_t numClasses = 2;
  std::vector<Clip> train, val;
  ClipInput input;
  // The scalar options, declared once (FVC_DEEP_TRAIN_OPTIONS above).
#define FVC_DECLARE_OPTION(type, name, fallback, min, max) type name = fallback;
  FVC_DEEP_TRAIN_OPTIONS(FVC_DECLARE_OPTION)
#undef FVC_DECLARE_OPTION
  std::string weights;  // .safetensors to start from (then the backbone takes lrBackbone)
  std::string outDir;   // model.pt (best), last.pt (resume point), config in model.json by the caller
  bool resume = true;
  std::string device = "cpu";  // "cuda" in a data-parallel job: this rank's local GPU
  uint64_t seed = 0;
  // >= 0: this process is one rank of data-parallel job number distributedJob (see
  // torch/distributed.h); batchSize is then the global batch, split evenly over the ranks.
  int64_t distributedJob = -1;
};

struct EpochStats {
  int epoch = 0;
  double trainLoss = 0, valLoss = 0, valAuc = 0, valAcc = 0, lr = 0, seconds = 0;
  double dataWait = 0;      // fraction of the epoch's training time spent waiting for batches
  double trainSeconds = 0;  // the training passes alone (no validation, no checkpoints)
  bool best = false;
};

// One optimiser parameter group: its base learning rate (before warmup and the cosine
// schedule), weight decay and parameters.
struct ParamGroup {
  double lr = 0, weightDecay = 0;
  std::vector<std::string> names;
};

struct TrainResult {
  std::vector<ParamGroup> groups;
  std::vector<EpochStats> epochs;
  int bestEpoch = 0;
  int resumedFrom = 0;  // epochs already done in last.pt, 0 when starting fresh
  bool stoppedEarly = false;
  std::vector<float> valProbs;  // P(class 1) of the best model on the validation clips
  int64_t parameters = 0;
};

// Progress inside an epoch's training passes: micro-batches done of the epoch's, clips
// seen, and the seconds spent so far and spent waiting for batches.
struct BatchStats {
  int epoch = 0;
  int64_t batch = 0, batches = 0, clips = 0;
  double seconds = 0, waited = 0;
};

// Runs on the calling thread; `onEpoch` after every epoch, `cancelled` polled between steps,
// `onBatch` (optional) after a batch at most every half second and after an epoch's last.
TrainResult train(const TrainRequest& request, const std::function<void(const EpochStats&)>& onEpoch, const std::function<bool()>& cancelled,
                  const std::function<void(const BatchStats&)>& onBatch = nullptr);

struct PredictRequest {
  std::string model;  // architecture
  Scale scale;
  int64_t numClasses = 2;
  std::string checkpoint;  // model.pt
  std::vector<Clip> clips;
  ClipInput input;
  int batchSize = 8;
  std::string device = "cpu";
  bool mixedPrecision = true;
};

std::vector<float> predict(const PredictRequest& request);

// Feature extraction: a backbone's embedding (VideoModel::embedding) of every clip,
// for the models that train on deep features. Exactly one source of weights: a
// published file, a checkpoint fvc trained, or an explicit random initialisation.
struct ExtractRequest {
  std::string model;  // architecture
  Scale scale;
  int64_t numClasses = 2;   // of the checkpoint's head; the embedding excludes the head
  std::string weights;      // .safetensors / .pth state dict
  std::string checkpoint;   // fvc's model.pt
  bool randomInit = false;  // seeded initialisation, only when asked for
  uint64_t seed = 0;
  std::vector<Clip> clips;
  ClipInput input;
  int batchSize = 8;
  std::string device = "cpu";
  bool mixedPrecision = true;
  int loaderThreads = 2;
};

struct ExtractResult {
  std::vector<float> values;  // row-major [clips, dim]
  int64_t dim = 0;
  int64_t loaded = 0;  // tensors taken from the weights file
};

// `onBatch(done, total)` after every batch; `cancelled` polled between batches.
ExtractResult extract(const ExtractRequest& request, const std::function<void(int64_t, int64_t)>& onBatch, const std::function<bool()>& cancelled);

}  // namespace fvc::deep
