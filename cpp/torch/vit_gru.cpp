// 5k vit_gru: a ViT on every frame, the frames' class tokens in time order through
// a one-layer GRU, its last hidden state through dropout 0.5 and a linear head.
#include "torch/vit.h"

namespace fvc::deep {
namespace {

namespace nn = torch::nn;

struct VitGru : VitBackbone {
  VitGru(const VitConfig& c, int64_t numClasses, const Scale& scale) : VitBackbone(c, 0), hidden(scaled(512, scale)) {
    gru = register_module("gru", nn::GRU(nn::GRUOptions(c.hidden, hidden).batch_first(true)));
    dropout = register_module("dropout", nn::Dropout(0.5));
    fc = register_module("fc", nn::Linear(hidden, numClasses));
    nn::init::normal_(fc->weight, 0, 0.01);
    nn::init::zeros_(fc->bias);
  }
  torch::Tensor features(torch::Tensor x) override {
    auto out = gru->forward(frameTokens(x));
    return std::get<1>(out).select(0, 0);  // h_n of the single layer: [B, hidden]
  }
  int64_t featureDim() const override { return hidden; }
  torch::Tensor forward(torch::Tensor x) override { return fc->forward(dropout->forward(features(x))); }
  std::vector<std::string> headPrefixes() const override { return {"gru.", "fc."}; }
  std::vector<std::string> classifierPrefixes() const override { return {"fc."}; }
  std::vector<std::string> ignoredWeights() const override { return {"heads."}; }
  int64_t hidden;
  nn::GRU gru{nullptr};
  nn::Dropout dropout{nullptr};
  nn::Linear fc{nullptr};
};

}  // namespace

std::shared_ptr<VideoModel> vit_gru(const VitConfig& vit, int64_t numClasses, const Scale& scale) {
  return std::make_shared<VitGru>(scaledVit(vit, scale), numClasses, scale);
}

}  // namespace fvc::deep
