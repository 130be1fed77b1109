#include "tune/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "support/error.h"
#include "support/interrupt.h"
#include "support/json.h"

namespace nasx {
namespace {

namespace fs = std::filesystem;

// One running worker: its pid, the pipe we write the request to and the one we read lines from.
class WorkerProcess {
 public:
  WorkerProcess(const std::string& exe, const std::string& request) {
    static const bool sigpipe_ignored = [] {  // a worker that died early must not kill us
      std::signal(SIGPIPE, SIG_IGN);
      return true;
    }();
    (void)sigpipe_ignored;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, exec_status[2] = {-1, -1};
    auto close_all = [&] {
      for (int fd : {in[0], in[1], out[0], out[1], exec_status[0], exec_status[1]})
        if (fd >= 0) close(fd);
    };
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
        pipe2(exec_status, O_CLOEXEC) != 0) {
      close_all();
      internal_error("pipe: ", std::strerror(errno));
    }
    pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) {
      close_all();
      internal_error("fork: ", std::strerror(errno));
    }
    if (pid_ == 0) {  // child: only async-signal-safe calls until exec
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      std::signal(SIGINT, SIG_IGN);  // Ctrl-C is the parent's to handle; it ends us
      dup2(in[0], STDIN_FILENO);
      dup2(out[1], STDOUT_FILENO);
      char* argv[] = {const_cast<char*>(exe.c_str()), nullptr};
      execv(exe.c_str(), argv);
      int e = errno;
      ssize_t ignored = write(exec_status[1], &e, sizeof e);
      (void)ignored;
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(exec_status[1]);
    read_fd_ = out[0];
    // The status pipe closes on a successful exec; otherwise it carries exec's errno.
    int e = 0;
    ssize_t got;
    while ((got = read(exec_status[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    close(exec_status[0]);
    if (got == static_cast<ssize_t>(sizeof e)) {
      close(in[1]);
      kill_and_reap();
      close(read_fd_);
      read_fd_ = -1;
      user_error("cannot start the measurement worker ", exe, ": ", std::strerror(e));
    }
    std::string line = request + "\n";
    for (size_t done = 0; done < line.size();) {  // the worker reads it whole before anything
      ssize_t n = write(in[1], line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // it died: its end is reported by next_line
      done += static_cast<size_t>(n);
    }
    close(in[1]);
  }
  ~WorkerProcess() {
    kill_and_reap();
    if (read_fd_ >= 0) close(read_fd_);
  }

  // The next line, or nullopt at end of stream; throws Interrupted on a signal. `timed_out` is
  // set when no line came within `seconds`.
  std::optional<std::string> next_line(double seconds, bool& timed_out) {
    timed_out = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    for (;;) {
      size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      if (interrupted()) {  // before end of stream: a worker ended by Ctrl-C is not a failure
        kill_and_reap();
        check_interrupted();
      }
      if (eof_) return std::nullopt;
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        timed_out = true;
        return std::nullopt;
      }
      int ms = static_cast<int>(
          std::min<double>(100, std::chrono::duration<double, std::milli>(deadline - now).count()) +
          1);
      pollfd p{read_fd_, POLLIN, 0};
      int r = poll(&p, 1, ms);
      if (r <= 0) continue;
      char chunk[4096];
      ssize_t n = read(read_fd_, chunk, sizeof chunk);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        eof_ = true;
      }
    }
  }

  // How the worker ended: "exited with status 3", "crashed (signal 11, Segmentation fault)".
  std::string end_reason() {
    kill_and_reap(false);
    if (WIFSIGNALED(status_))
      return "crashed (signal " + std::to_string(WTERMSIG(status_)) + ", " +
             strsignal(WTERMSIG(status_)) + ")";
    if (WIFEXITED(status_)) return "exited with status " + std::to_string(WEXITSTATUS(status_));
    return "ended";
  }

  void kill_and_reap(bool force = true) {
    if (reaped_) return;
    if (force) kill(pid_, SIGKILL);
    while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }

 private:
  pid_t pid_ = -1;
  int read_fd_ = -1, status_ = 0;
  bool reaped_ = false, eof_ = false;
  std::string buffer_;
};

Json request_json(const std::string& library, const std::vector<KernelJob>& jobs,
                  const std::vector<size_t>& which, const WorkerOptions& o) {
  Json kernels = Json::array();
  for (size_t i : which)
    kernels.push_back(
        {{"symbol", jobs[i].symbol}, {"args", jobs[i].arg_floats}, {"fault", jobs[i].fault}});
  return Json{{"library", library},
              {"kernels", kernels},
              {"warmup", o.warmup},
              {"repeat", o.repeat},
              {"min_sample_ms", o.min_sample_ms}};
}

}  // namespace

std::string worker_path() {
  if (const char* env = std::getenv("NASX_WORKER"); env && *env) {
    NASX_USER_CHECK(fs::is_regular_file(env) && access(env, X_OK) == 0, "NASX_WORKER=", env,
                    " is not an executable file");
    return env;
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path beside = self.parent_path() / "nasx-worker";
    if (fs::is_regular_file(beside, ec) && access(beside.c_str(), X_OK) == 0)
      return beside.string();
  }
#ifdef NASX_WORKER_BUILD_PATH
  if (fs::is_regular_file(NASX_WORKER_BUILD_PATH, ec) && access(NASX_WORKER_BUILD_PATH, X_OK) == 0)
    return NASX_WORKER_BUILD_PATH;
#endif
  user_error("nasx-worker, the measurement process, is missing (looked beside ", self.string(),
             "; set NASX_WORKER to its path)");
}

std::vector<JobResult> run_in_worker(
    const std::string& library, const std::vector<KernelJob>& jobs, const WorkerOptions& options,
    const std::function<void(size_t, const JobResult&)>& on_result) {
  std::vector<JobResult> results(jobs.size());
  std::vector<bool> known(jobs.size(), false);
  auto settle = [&](size_t i, JobResult r) {
    results[i] = std::move(r);
    known[i] = true;
    if (on_result) on_result(i, results[i]);
  };
  std::string exe = worker_path();
  // Jobs still to measure. A kernel whose first run fails is settled and dropped; a fresh worker
  // then measures all the others again (timing happens only once every first run succeeded).
  std::vector<size_t> pending(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) pending[i] = i;
  while (!pending.empty()) {
    WorkerProcess w(exe, request_json(library, jobs, pending, options).dump());
    size_t ready = 0;  // first runs that succeeded, in request order
    bool finished = false;
    while (!finished) {
      bool timing = ready == pending.size(), timed_out = false;
      double wait = timing ? options.timeout_s * double(pending.size()) : options.timeout_s;
      std::optional<std::string> line = w.next_line(wait, timed_out);
      if (!line) {
        check_interrupted();
        std::string why =
            timed_out ? "timed out after " + std::to_string(int(wait)) + " s" : w.end_reason();
        if (!timing) {  // this kernel's first run failed: settle it, retry the rest
          settle(pending[ready], JobResult{false, why, {}});
          pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(ready));
        } else {  // died while timing: nothing left is trusted (and nothing is pinned on a kernel)
          for (size_t i : pending)
            if (!known[i]) settle(i, JobResult{false, "worker " + why + " while timing", {}, true});
          pending.clear();
        }
        break;
      }
      Json j = Json::parse(*line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) continue;  // not ours (a library printing)
      if (j.contains("error")) {  // the worker could not start (library or symbol missing)
        std::string why = j["error"].get<std::string>();
        for (size_t i : pending) settle(i, JobResult{false, why, {}});
        pending.clear();
        break;
      }
      if (j.contains("ready")) {
        ready = j["ready"].get<size_t>() + 1;
      } else if (j.contains("result")) {
        TimingStats s{j["median_ms"].get<double>(), j["min_ms"].get<double>(),
                      j["max_ms"].get<double>(), j["repeats"].get<int>()};
        settle(pending.at(j["result"].get<size_t>()), JobResult{true, "", s});
      } else if (j.contains("done")) {
        pending.clear();
        finished = true;
      }
    }
  }
  for (size_t i = 0; i < jobs.size(); ++i)
    if (!known[i]) settle(i, JobResult{false, "not measured", {}});
  return results;
}

}  // namespace nasx
