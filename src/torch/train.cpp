#include "torch/train.h"

#include "support/json_in.h"
#include "support/temp_files.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "graph/weights.h"
#include "runtime/compiled_network.h"
#include "support/error.h"
#include "support/file.h"
#include "support/hash.h"
#include "support/json_in.h"
#include "torch/torch_ops.h"

namespace nasx {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kFormat = "nasx-checkpoint";

torch::Tensor logits(const Network& net, const TorchParams& model, const torch::Tensor& x,
                     bool training) {
  return forward_graph(net, model, x, training, training).back();
}

void copy_to(const TorchParams& model, Network& net) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < net.nodes.size(); ++i)
    for (size_t p = 0; p < model.values[i].size(); ++p)
      net.nodes[i].params[p] = from_torch(model.values[i][p].cpu());
}

torch::Device device_of(const TorchParams& m) {
  for (const auto& p : m.values)
    if (!p.empty()) return p[0].device();
  return torch::kCPU;
}

double accuracy_of(const Network& net, const TorchParams& model, const torch::Tensor& images,
                   const torch::Tensor& labels, int64_t batch) {
  torch::InferenceMode guard;
  int64_t n = images.size(0), correct = 0;
  for (int64_t b = 0; b < n; b += batch) {
    int64_t e = std::min(n, b + batch);
    torch::Tensor x = images.slice(0, b, e).to(device_of(model));
    torch::Tensor out = logits(net, model, x, false);
    correct += out.argmax(1).cpu().eq(labels.slice(0, b, e)).sum().item<int64_t>();
  }
  return n == 0 ? 0.0 : 100.0 * double(correct) / double(n);
}

std::string epoch_dir(int64_t epoch) {
  return "epoch-" + std::to_string(epoch);
}

Json read_checkpoint_json(const std::string& dir) {
  std::string path = dir + "/checkpoint.json";
  NASX_USER_CHECK(fs::exists(path), dir, " holds no checkpoint (", path, " is missing)");
  Json j = read_json_file(path, "a checkpoint", "corrupt checkpoint");
  bool ok = j.is_object() && j.value("format", "") == kFormat && j.contains("epoch") &&
            j["epoch"].is_number_integer() && j.contains("state") && j["state"].is_string() &&
            j.contains("history") && j["history"].is_array();
  NASX_USER_CHECK(ok, path, ": corrupt checkpoint (expected format \"", kFormat,
                  "\" with \"epoch\", \"state\" and \"history\")");
  return j;
}

// CUDA when the LibTorch nasx was built with has it and a GPU is there, else the CPU;
// NASX_DEVICE=cpu forces the CPU, NASX_DEVICE=cuda insists on the GPU.
torch::Device training_device() {
  const char* forced = std::getenv("NASX_DEVICE");
  std::string want = forced ? forced : "";
  if (want == "cpu") return torch::kCPU;
  bool cuda = torch::cuda::is_available();
  NASX_USER_CHECK(cuda || want != "cuda",
                  "NASX_DEVICE=cuda, but no GPU is usable (the LibTorch nasx is built with has no "
                  "CUDA, or no GPU is there): unset it to train on the CPU");
  return cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

// Seeds of the independent random streams, from (seed, purpose, epoch, step).
uint64_t stream(uint64_t seed, const std::string& what, int64_t epoch, int64_t step = 0) {
  return Hasher()
      .add(std::to_string(seed))
      .add(what)
      .add(std::to_string(epoch) + ":" + std::to_string(step))
      .low();
}

}  // namespace

Json TrainOptions::to_json() const {
  return Json{
      {"data", data.to_string()},   {"epochs", epochs}, {"batch", batch}, {"subset", subset},
      {"test_subset", test_subset}, {"lr", lr},         {"seed", seed}};
}

Json EpochStats::to_json() const {
  return Json{{"epoch", epoch},
              {"loss", loss},
              {"train_accuracy", train_accuracy},
              {"test_accuracy", test_accuracy},
              {"seconds", seconds}};
}

std::string training_device_name() {
  return training_device().is_cuda() ? "cuda" : "cpu";
}

std::optional<CheckpointInfo> checkpoint_info(const std::string& dir) {
  if (!fs::is_directory(dir) || !fs::exists(dir + "/checkpoint.json")) return std::nullopt;
  Json j = read_checkpoint_json(dir);
  JsonIn in(j, dir + "/checkpoint.json");
  CheckpointInfo info;
  info.model = in.str("model");
  info.network = in.str("network");
  if (in.has("width")) info.width = in.field("width").as_real();
  return info;
}

std::string checkpoint_weights(const std::string& dir) {
  if (!fs::exists(dir + "/checkpoint.json")) return dir;
  Json j = read_checkpoint_json(dir);
  return dir + "/" + j["state"].get<std::string>() + "/weights";
}

double torch_accuracy(const Network& net, const Minibatch& examples, int64_t batch) {
  NASX_USER_CHECK(batch > 0, "batch size must be positive, got ", batch);
  TorchParams model(net, false, false, torch::kFloat32, training_device());
  return accuracy_of(net, model, to_torch(examples.images),
                     torch::tensor(examples.labels, torch::kInt64), batch);
}

double compiled_accuracy(const Network& net, const Minibatch& test, int64_t batch) {
  NASX_USER_CHECK(batch > 0, "batch size must be positive, got ", batch);
  int64_t n = test.images.shape.at(0);
  batch = std::max<int64_t>(1, std::min(batch, n));
  CompiledNetwork c = CompiledNetwork::compile(net, batch);
  int64_t per = net.input_chw[0] * net.input_chw[1] * net.input_chw[2], correct = 0;
  for (int64_t b = 0; b < n; b += batch) {
    int64_t e = std::min(n, b + batch);
    Tensor x(net.input_shape(batch));
    std::copy(test.images.data.begin() + b * per, test.images.data.begin() + e * per,
              x.data.begin());
    Tensor out = c.run(x);
    int64_t classes = out.shape[1];
    for (int64_t i = 0; i < e - b; ++i) {
      const float* row = out.data.data() + i * classes;
      correct += (std::max_element(row, row + classes) - row) == test.labels[b + i];
    }
  }
  return n == 0 ? 0.0 : 100.0 * double(correct) / double(n);
}

std::vector<EpochStats> train_network(Network& net, const TrainOptions& o,
                                      const std::function<void(const TrainProgress&)>& progress,
                                      const std::function<void(const EpochStats&)>& epoch_done) {
  NASX_USER_CHECK(o.epochs >= 1 && o.epochs <= 10000, "--epochs must be in [1, 10000], got ",
                  o.epochs);
  NASX_USER_CHECK(o.batch >= 2, "--batch must be at least 2 (batch norm), got ", o.batch);
  NASX_USER_CHECK(std::isfinite(o.lr) && o.lr > 0 && o.lr <= 10, "--lr must be in (0, 10], got ",
                  o.lr);
  NASX_USER_CHECK(!o.out.empty(), "training needs a checkpoint directory (--out)");
  NASX_USER_CHECK(!fs::exists(o.out) || fs::is_directory(o.out), "--out ", o.out,
                  " exists and is not a directory");

  // Resume: the checkpoint must come from the same model and options.
  std::vector<EpochStats> history;
  int64_t start = 0;
  std::string previous_state;
  bool has_checkpoint = fs::exists(o.out + "/checkpoint.json");
  NASX_USER_CHECK(o.resume || !has_checkpoint, "--out ", o.out,
                  " already holds a checkpoint; pass --resume to continue it, or choose another "
                  "directory");
  // Before: --resume of a folder without a checkpoint trained from scratch without a word.
  NASX_USER_CHECK(!o.resume || has_checkpoint, "--resume: ", o.out,
                  " holds no checkpoint (no checkpoint.json); leave --resume out to start a "
                  "training there");
  // Only into a new or empty folder, or one of nasx's trainings (its epoch-E folders, a killed
  // run's temporaries): never among a user's files (before: a search folder took a checkpoint).
  if (!has_checkpoint && fs::is_directory(o.out))
    for (const auto& e : fs::directory_iterator(o.out)) {
      std::string name = e.path().filename().string();
      bool ours = name.rfind("epoch-", 0) == 0 || name.find(".tmp.") != std::string::npos;
      NASX_USER_CHECK(ours, "--out ", o.out, " holds files that are not a nasx training (", name,
                      "); choose a new or empty folder");
    }
  // Writable before any work (before: a read-only folder failed after a whole epoch).
  {
    std::error_code ec;
    fs::create_directories(o.out, ec);
    NASX_USER_CHECK(!ec, "--out ", o.out, ": cannot create it: ", ec.message());
    std::string probe = temp_name_for(o.out + "/checkpoint.json");
    TempFile guard(probe);
    NASX_USER_CHECK(std::ofstream(probe).good(), "--out ", o.out,
                    " is not writable: cannot create a file in it");
  }
  Json ckpt;
  if (o.resume && has_checkpoint) {
    ckpt = read_checkpoint_json(o.out);
    JsonIn in(ckpt, o.out + "/checkpoint.json");
    NASX_USER_CHECK(in.str("model") == o.model && in.str("network") == net.name, o.out,
                    " was trained from ", in.str("model", "?"), ", not ", o.model);
    NASX_USER_CHECK(ckpt.contains("options") && ckpt["options"] == o.to_json(), o.out,
                    " was trained with other options (", ckpt.value("options", Json()).dump(),
                    "); --resume needs the same ones");
    start = ckpt["epoch"].get<int64_t>();
    NASX_USER_CHECK(start >= 0 && start <= o.epochs, o.out, ": corrupt checkpoint (epoch ", start,
                    ")");
    for (const JsonIn& h : in.list("history"))
      history.push_back({h.integer("epoch"), h.real("loss"), h.real("train_accuracy"),
                         h.real("test_accuracy"), h.real("seconds")});
    previous_state = ckpt["state"].get<std::string>();
    load_weights(net, o.out + "/" + previous_state + "/weights", false);
  }

  Minibatch train =
      load_split(o.data, net.input_chw, net.num_classes, o.subset, stream(o.seed, "subset", 0));
  DatasetSpec test_spec = o.data;
  test_spec.train = false;
  Minibatch test = load_split(test_spec, net.input_chw, net.num_classes, o.test_subset, 0);
  torch::Tensor x_train = to_torch(train.images), y_train = torch::tensor(train.labels);
  torch::Tensor x_test = to_torch(test.images), y_test = torch::tensor(test.labels);
  train = Minibatch{};
  test = Minibatch{};

  const torch::Device device = training_device();
  TorchParams model(net, true, false, torch::kFloat32, device);
  torch::optim::SGD opt(
      model.trainable,
      torch::optim::SGDOptions(o.lr).momentum(0.9).nesterov(true).weight_decay(5e-4));
  if (!previous_state.empty()) {
    std::string path = o.out + "/" + previous_state + "/optimizer.pt";
    try {
      torch::load(opt, path);
    } catch (const std::exception& e) {
      // LibTorch's message: its first line (a C++ backtrace follows it).
      std::string what = e.what();
      user_error(path, ": corrupt checkpoint (cannot read the optimizer state: ",
                 what.substr(0, std::min(what.find('\n'), size_t{200})), ")");
    }
  }

  const int64_t n = x_train.size(0);
  // The last partial batch is kept unless it holds a single example (batch norm needs two).
  const int64_t steps = n / o.batch + (n % o.batch >= 2 ? 1 : 0);
  NASX_USER_CHECK(steps > 0, "the training set (", n, " examples) is smaller than one batch");
  const int64_t total_steps = steps * o.epochs;
  auto t0 = Clock::now();
  for (int64_t epoch = start; epoch < o.epochs; ++epoch) {
    auto e0 = Clock::now();
    std::mt19937_64 order_rng(stream(o.seed, "order", epoch));
    std::vector<int64_t> order(n);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), order_rng);
    torch::Tensor perm = torch::tensor(order);
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    for (int64_t step = 0; step < steps; ++step) {
      int64_t b = step * o.batch, e = std::min(n, b + o.batch);
      torch::Tensor idx = perm.slice(0, b, e);
      std::mt19937_64 aug_rng(stream(o.seed, "augment", epoch, step));
      torch::Tensor x = augment_batch(x_train.index_select(0, idx), 4, aug_rng).to(device);
      torch::Tensor y = y_train.index_select(0, idx).to(device);
      double lr =
          0.5 * o.lr * (1 + std::cos(M_PI * double(epoch * steps + step) / double(total_steps)));
      for (auto& group : opt.param_groups())
        static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
      opt.zero_grad();
      torch::Tensor out = logits(net, model, x, true);
      torch::Tensor loss = torch::cross_entropy_loss(out, y);
      loss.backward();
      opt.step();
      double l = loss.item<double>();
      NASX_USER_CHECK(std::isfinite(l), "training diverged at epoch ", epoch + 1, " step ",
                      step + 1, " (loss ", l, "); try a smaller --lr");
      loss_sum += l * double(e - b);
      seen += e - b;
      correct += out.argmax(1).eq(y).sum().item<int64_t>();
      double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
      double done = double((epoch - start) * steps + step + 1);
      double left = elapsed / done * double((o.epochs - start) * steps) - elapsed;
      if (progress)
        progress({epoch + 1, o.epochs, step + 1, steps, loss_sum / double(seen), elapsed, left});
    }
    EpochStats st;
    st.epoch = epoch + 1;
    st.loss = loss_sum / double(seen);
    st.train_accuracy = 100.0 * double(correct) / double(seen);
    st.test_accuracy = accuracy_of(net, model, x_test, y_test, 256);
    st.seconds = std::chrono::duration<double>(Clock::now() - e0).count();
    history.push_back(st);

    // Checkpoint: a new epoch directory, then checkpoint.json names it, then the old one goes.
    copy_to(model, net);
    std::string state = epoch_dir(epoch + 1);
    std::string tmp = o.out + "/." + state + ".tmp";
    fs::remove_all(tmp);
    save_weights(net, tmp + "/weights");
    torch::save(opt, tmp + "/optimizer.pt");
    fs::remove_all(o.out + "/" + state);
    fs::rename(tmp, o.out + "/" + state);
    Json hist = Json::array();
    for (const EpochStats& h : history) hist.push_back(h.to_json());
    Json j{{"format", kFormat},   {"version", 1},       {"model", o.model},
           {"network", net.name}, {"epoch", epoch + 1}, {"options", o.to_json()},
           {"history", hist},     {"state", state},     {"width", o.width}};
    write_file_atomically(o.out + "/checkpoint.json", j.dump(2) + "\n");
    if (!previous_state.empty() && previous_state != state)
      fs::remove_all(o.out + "/" + previous_state);
    previous_state = state;
    if (epoch_done) epoch_done(st);
  }
  if (start == o.epochs) copy_to(model, net);
  return history;
}

}  // namespace nasx
