// The factorised encoder: a spatial ViT per frame or tubelet, then a temporal
// transformer over their class tokens with its own class token and position
// embedding. 5l vit_transformer runs it per frame with the seed's dropout 0.5 and
// fc head; 5n ViViT (Arnab et al., 2021, model 2) on tubelets of 2 frames with the
// ViT's head. The temporal part is named after torchvision's encoder
// (temporal_encoder.layers.encoder_layer_N...) so one ViT file initialises the
// spatial part and the temporal part is new.
#include "torch/vit.h"

namespace fvc::deep {
namespace {

namespace nn = torch::nn;

struct FactorisedOptions {
  int64_t tubelet = 0;  // 0: per frame (a 2D patch kernel)
  int64_t steps = 8;    // time steps the temporal position embedding is built for
  int64_t temporalLayers = 4;
  bool seedHead = false;  // dropout 0.5 + fc (the seed's), else heads.head (ViT's)
};

struct Factorised : VitBackbone {
  Factorised(const VitConfig& c, int64_t numClasses, const Scale& scale, const FactorisedOptions& o)
      : VitBackbone(c, o.tubelet), seedHead(o.seedHead) {
    temporal_token = register_parameter("temporal_token", torch::zeros({1, 1, c.hidden}));
    temporal_encoder = register_module("temporal_encoder", Encoder(o.steps, 1, c.hidden, blocks(o.temporalLayers, scale), c.heads, c.mlp));
    checkpointedEncoders.push_back(temporal_encoder);
    if (seedHead) {
      dropout = register_module("dropout", nn::Dropout(0.5));
      head = register_module("fc", nn::Linear(c.hidden, numClasses));
      nn::init::normal_(head->weight, 0, 0.01);
    } else {
      auto heads = register_module("heads", std::make_shared<nn::Module>());
      head = heads->register_module("head", nn::Linear(c.hidden, numClasses));
      nn::init::zeros_(head->weight);
    }
    nn::init::zeros_(head->bias);
  }
  // The spatial class tokens [B, T', D] and the temporal one [B, D].
  std::pair<torch::Tensor, torch::Tensor> encode(torch::Tensor x) {
    torch::Tensor frames = frameTokens(x);
    torch::Tensor seq = torch::cat({temporal_token.expand({frames.size(0), 1, -1}).to(frames.dtype()), frames}, 1);
    return {frames, temporal_encoder->forward(seq, frames.size(1), 1).select(1, 0)};
  }
  torch::Tensor features(torch::Tensor x) override { return encode(x).second; }
  int64_t featureDim() const override { return cfg.hidden; }
  // The extraction table's row: the spatial class tokens' mean over time, then the temporal one.
  torch::Tensor embedding(torch::Tensor x) override {
    auto [frames, clip] = encode(x);
    return torch::cat({frames.mean(1), clip}, 1);
  }
  int64_t embeddingDim() const override { return 2 * cfg.hidden; }
  torch::Tensor forward(torch::Tensor x) override {
    torch::Tensor f = features(x);
    return head->forward(seedHead ? dropout->forward(f) : f);
  }
  std::vector<std::string> headPrefixes() const override { return {"temporal_", seedHead ? "fc." : "heads."}; }
  std::vector<std::string> classifierPrefixes() const override { return {seedHead ? "fc." : "heads."}; }
  std::vector<std::string> ignoredWeights() const override { return seedHead ? std::vector<std::string>{"heads."} : std::vector<std::string>{}; }

  bool seedHead;
  torch::Tensor temporal_token;
  Encoder temporal_encoder{nullptr};
  nn::Dropout dropout{nullptr};
  nn::Linear head{nullptr};
};

}  // namespace

std::shared_ptr<VideoModel> vit_transformer(const VitConfig& vit, int64_t numClasses, const Scale& scale) {
  return std::make_shared<Factorised>(scaledVit(vit, scale), numClasses, scale, FactorisedOptions{0, 8, 4, true});
}

std::shared_ptr<VideoModel> vivit(const VitConfig& vit, int64_t numClasses, const Scale& scale) {
  return std::make_shared<Factorised>(scaledVit(vit, scale), numClasses, scale, FactorisedOptions{2, 8, 4, false});
}

}  // namespace fvc::deep
