#include "torch/datasets.h"

#include <filesystem>
#include <fstream>
#include <random>

#include "support/dataset_files.h"
#include "support/error.h"
#include "support/file.h"
#include "torch/torch_ops.h"

namespace nasx {
namespace {

namespace fs = std::filesystem;

// Fashion-MNIST's largest file is 26 MB compressed and decompresses to 47 MB; a file far beyond
// either is not one (a gzip bomb would otherwise be inflated whole before anything is checked).
constexpr size_t kMaxCompressed = size_t(1) << 26, kMaxDecompressed = size_t(1) << 28;
// CIFAR-10's batches are 30 MB each.
constexpr size_t kMaxCifarFile = size_t(1) << 26;

std::string read_gzip(const std::string& path) {
  return gunzip(read_file(path, "a gzip-compressed IDX file", kMaxCompressed),
                "dataset file " + path, kMaxDecompressed);
}

std::vector<int64_t> draw(int64_t available, int64_t batch, uint64_t seed,
                          const std::string& what) {
  NASX_USER_CHECK(batch > 0, "batch size must be positive, got ", batch);
  NASX_USER_CHECK(batch <= available, batch,
                  " examples asked for (a batch or --subset): larger than ", what, " (", available,
                  " examples)");
  std::vector<int64_t> idx(available);
  for (int64_t i = 0; i < available; ++i) idx[i] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < batch; ++i)  // partial Fisher-Yates: the first `batch` are the draw
    std::swap(idx[i], idx[std::uniform_int_distribution<int64_t>(i, available - 1)(rng)]);
  idx.resize(batch);
  return idx;
}

// [N, c, h, w] float images in [0,1] -> the model's [N, C, H, W], normalised.
torch::Tensor fit(torch::Tensor x, const Shape& chw, const std::vector<double>& mean,
                  const std::vector<double>& std) {
  int64_t h = x.size(2);
  if (chw[1] == 32 && chw[2] == 32 && h == 28) {
    x = torch::constant_pad_nd(x, {2, 2, 2, 2}, 0);
  } else if (x.size(2) != chw[1] || x.size(3) != chw[2]) {
    x = torch::upsample_bilinear2d(x, {chw[1], chw[2]}, false);
  }
  torch::Tensor m = torch::tensor(mean).to(torch::kFloat32).view({1, -1, 1, 1});
  torch::Tensor s = torch::tensor(std).to(torch::kFloat32).view({1, -1, 1, 1});
  x = (x - m) / s;
  if (x.size(1) != chw[0]) {
    NASX_USER_CHECK(x.size(1) == 1, "cannot feed ", x.size(1), "-channel images to a model taking ",
                    chw[0], " channels");
    x = x.expand({x.size(0), chw[0], x.size(2), x.size(3)}).contiguous();
  }
  return x;
}

Minibatch to_minibatch(const torch::Tensor& x, std::vector<int64_t> labels, int64_t classes,
                       const std::string& name) {
  for (int64_t l : labels)
    NASX_USER_CHECK(l >= 0 && l < classes, name, " has label ", l, ", but the model has ", classes,
                    " classes");
  return {from_torch(x), std::move(labels)};
}

}  // namespace

DatasetSpec DatasetSpec::parse(const std::string& text) {
  DatasetSpec s;
  size_t colon = text.find(':');
  s.kind = text.substr(0, colon);
  if (colon != std::string::npos) s.dir = text.substr(colon + 1);
  NASX_USER_CHECK(s.kind == "fashion-mnist" || s.kind == "cifar10" || s.kind == "synthetic",
                  "unknown dataset '", text,
                  "' (use fashion-mnist, fashion-mnist:DIR, cifar10:DIR or synthetic)");
  NASX_USER_CHECK(s.kind != "cifar10" || !s.dir.empty(),
                  "cifar10 needs its directory: --data cifar10:DIR (the binary version, with "
                  "data_batch_1.bin ... test_batch.bin)");
  NASX_USER_CHECK(s.kind != "synthetic" || colon == std::string::npos,
                  "synthetic data takes no argument, got '", text, "'");
  return s;
}

std::string DatasetSpec::to_string() const {
  return dir.empty() ? kind : kind + ":" + dir;
}

namespace {

// `batch` examples drawn by the seeded permutation, or the whole split (shuffled) for kWholeSplit.
constexpr int64_t kWholeSplit = -1;

Minibatch load_examples(const DatasetSpec& spec, const Shape& chw, int64_t classes, int64_t batch,
                        uint64_t seed) {
  torch::NoGradGuard no_grad;
  if (spec.kind == "synthetic") {
    if (batch == kWholeSplit) batch = spec.train ? 2048 : 512;
    NASX_USER_CHECK(batch > 0, "batch size must be positive, got ", batch);
    // Generated, so any count is possible: bounded at 1 GiB of images (before: --subset 1e8 was
    // std::bad_alloc, exit 3).
    constexpr int64_t kMaxFloats = int64_t(1) << 28;
    NASX_USER_CHECK(
        batch <= kMaxFloats / (chw[0] * chw[1] * chw[2]), batch,
        " synthetic examples asked for (a batch or --subset): more than 1 GiB of images");
    Minibatch m{Tensor::random_normal({batch, chw[0], chw[1], chw[2]}, seed), {}};
    std::mt19937_64 rng(seed + 1);
    for (int64_t i = 0; i < batch; ++i)
      m.labels.push_back(std::uniform_int_distribution<int64_t>(0, classes - 1)(rng));
    return m;
  }
  if (spec.kind == "fashion-mnist") {
    std::string dir = spec.dir.empty() ? kFashionMnistDir : spec.dir;
    NASX_USER_CHECK(fs::is_directory(dir), "Fashion-MNIST directory ", dir,
                    fs::exists(dir) ? " is not a directory" : " does not exist",
                    " (install Debian's dataset-fashion-mnist, or give --data fashion-mnist:DIR)");
    std::string prefix = dir + (spec.train ? "/train" : "/t10k");
    std::string images = prefix + "-images-idx3-ubyte.gz",
                labels = prefix + "-labels-idx1-ubyte.gz";
    std::string image_bytes = read_gzip(images);  // images first: their errors come first
    LabelledImages d = parse_idx(image_bytes, images, read_gzip(labels), labels);
    int64_t n = d.count;
    if (batch == kWholeSplit) batch = n;
    std::vector<int64_t> idx = draw(n, batch, seed, "the Fashion-MNIST split");
    torch::Tensor x = torch::empty({batch, 1, 28, 28});
    std::vector<int64_t> y;
    float* px = x.data_ptr<float>();
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t p = 0; p < 784; ++p) px[b * 784 + p] = d.pixels[idx[b] * 784 + p] / 255.0f;
      y.push_back(d.labels[idx[b]]);
    }
    return to_minibatch(fit(x, chw, {0.2860}, {0.3530}), y, classes, "Fashion-MNIST");
  }
  // cifar10
  NASX_USER_CHECK(fs::is_directory(spec.dir), "CIFAR-10 directory ", spec.dir,
                  fs::exists(spec.dir) ? " is not a directory" : " does not exist");
  std::vector<std::string> files;
  if (spec.train) {
    for (int i = 1; i <= 5; ++i)
      files.push_back(spec.dir + "/data_batch_" + std::to_string(i) + ".bin");
  } else {
    files.push_back(spec.dir + "/test_batch.bin");
  }
  LabelledImages d;
  for (const std::string& f : files) {
    LabelledImages part = parse_cifar(read_file(f, "a CIFAR-10 binary batch", kMaxCifarFile), f);
    d.count += part.count;
    d.pixels.insert(d.pixels.end(), part.pixels.begin(), part.pixels.end());
    d.labels.insert(d.labels.end(), part.labels.begin(), part.labels.end());
  }
  int64_t n = d.count;
  if (batch == kWholeSplit) batch = n;
  std::vector<int64_t> idx = draw(n, batch, seed, "the CIFAR-10 split");
  torch::Tensor x = torch::empty({batch, 3, 32, 32});
  std::vector<int64_t> y;
  float* px = x.data_ptr<float>();
  for (int64_t b = 0; b < batch; ++b) {
    y.push_back(d.labels[idx[b]]);
    for (int64_t p = 0; p < 3072; ++p) px[b * 3072 + p] = d.pixels[idx[b] * 3072 + p] / 255.0f;
  }
  return to_minibatch(fit(x, chw, {0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}), y, classes,
                      "CIFAR-10");
}

}  // namespace

Minibatch load_minibatch(const DatasetSpec& spec, const Shape& chw, int64_t classes, int64_t batch,
                         uint64_t seed) {
  NASX_USER_CHECK(batch > 0, "batch size must be positive, got ", batch);
  return load_examples(spec, chw, classes, batch, seed);
}

Minibatch load_split(const DatasetSpec& spec, const Shape& chw, int64_t classes, int64_t limit,
                     uint64_t seed) {
  NASX_USER_CHECK(limit >= 0, "the number of examples must not be negative, got ", limit);
  return load_examples(spec, chw, classes, limit == 0 ? kWholeSplit : limit, seed);
}

torch::Tensor augment_batch(const torch::Tensor& x, int64_t pad, std::mt19937_64& rng) {
  torch::NoGradGuard no_grad;
  int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  torch::Tensor padded = torch::constant_pad_nd(x, {pad, pad, pad, pad}, 0);
  torch::Tensor out = torch::empty_like(x);
  for (int64_t i = 0; i < n; ++i) {
    int64_t dy = std::uniform_int_distribution<int64_t>(0, 2 * pad)(rng);
    int64_t dx = std::uniform_int_distribution<int64_t>(0, 2 * pad)(rng);
    torch::Tensor crop = padded[i].slice(1, dy, dy + h).slice(2, dx, dx + w);
    if (std::uniform_int_distribution<int>(0, 1)(rng)) crop = crop.flip({2});
    out[i].copy_(crop);
  }
  return out;
}

Tensor augment(const Tensor& images, int64_t pad, uint64_t seed) {
  std::mt19937_64 rng(seed);
  return from_torch(augment_batch(to_torch(images), pad, rng));
}

}  // namespace nasx
