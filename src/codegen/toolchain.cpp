#include "codegen/toolchain.h"

#include "support/cpu.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

#include "support/file.h"
#include "support/hash.h"
#include "support/log.h"
#include "support/temp_files.h"
#include "support/text.h"

namespace nasx {
namespace fs = std::filesystem;

namespace {

// Version 02 binds the entry to its key: the checksum covers the body and the key, so an entry
// copied over another key's (a valid library of another kernel, whose symbols would be called as
// this kernel's: a crash) fails the check as surely as a torn one.
constexpr char kTrailerMagic[8] = {'N', 'A', 'S', 'X', 'S', 'O', '0', '2'};
constexpr size_t kTrailerSize = 16;  // 8-byte checksum + 8-byte magic

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

uint64_t checksum(std::string_view bytes, const std::string& key) {
  return Hasher().add(bytes).add("|key|").add(key).low();
}

// The entry is whole, and this key's, when it is a regular file whose trailer's magic is present
// and whose checksum matches its body and the key.
bool entry_is_whole(const fs::path& so, const std::string& key) {
  std::error_code ec;
  if (!fs::is_regular_file(so, ec)) return false;
  std::string bytes = read_file(so);
  if (bytes.size() <= kTrailerSize) return false;
  size_t body = bytes.size() - kTrailerSize;
  if (std::memcmp(bytes.data() + body + 8, kTrailerMagic, 8) != 0) return false;
  uint64_t stored;
  std::memcpy(&stored, bytes.data() + body, 8);
  return stored == checksum(std::string_view(bytes.data(), body), key);
}

// An entry whole in the trailer format before version 02 (checksum of the body alone).
bool older_format(const fs::path& so) {
  std::error_code ec;
  if (!fs::is_regular_file(so, ec)) return false;
  std::string bytes = read_file(so);
  if (bytes.size() <= kTrailerSize) return false;
  size_t body = bytes.size() - kTrailerSize;
  return std::memcmp(bytes.data() + body + 8, "NASXSO01", 8) == 0;
}

std::shared_ptr<SharedLibrary> try_open(const fs::path& so, std::string* error) {
  void* h = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    *error = e ? e : "unknown dlopen error";
    return nullptr;
  }
  return std::make_shared<SharedLibrary>(h, so);
}

void build_entry(const std::string& source, const ToolchainConfig& cfg, const fs::path& src,
                 const fs::path& so, const std::string& key) {
  write_file_atomically(src.string(), source);
  TempFile guard(temp_name_for(so.string()));
  fs::path tmp = guard.path();
  std::vector<std::string> argv = cfg.command({"-o", tmp.string(), src.string()});
  std::string cmd = command_line(argv);
  log(LogLevel::Info, "compile: ", cmd);
  std::string output;
  int status = run_process(argv, &output);
  if (status != 0) {
    std::error_code ec;
    fs::remove(tmp, ec);
    blame_environment_for_compile_failure(cfg);
    throw CompileError("code generation produced C++ that did not compile\n  command: " + cmd +
                       "\n  exit status: " + std::to_string(status) + "\n  compiler said:\n" +
                       output);
  }
  std::string bytes = read_file(tmp);
  uint64_t sum = checksum(bytes, key);
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::app);
    f.write(reinterpret_cast<const char*>(&sum), 8);
    f.write(kTrailerMagic, 8);
    if (!f) internal_error("could not finish ", tmp.string());
  }
  fs::rename(tmp, so);  // atomic: readers see the old entry, or none, or the whole new one
  guard.release();
}

}  // namespace

int run_process(const std::vector<std::string>& argv, std::string* output, const fs::path& cwd) {
  NASX_ASSERT(!argv.empty(), "run_process without a program");
  // Everything the child needs is made before fork: between fork and exec only async-signal-safe
  // calls. An exec failure reaches the parent as errno through a pipe closed on exec.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::string dir = cwd.string();
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    internal_error("could not make a pipe to run ", argv[0], ": ", std::strerror(errno));
  pid_t pid = fork();
  if (pid < 0) internal_error("could not start ", argv[0], ": ", std::strerror(errno));
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(out[1], 2);
    int e = 0;
    if (!dir.empty() && chdir(dir.c_str()) != 0) e = errno;
    if (e == 0) {
      execvp(args[0], args.data());
      e = errno;
    }
    ssize_t ignored = write(err[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  std::array<char, 4096> buf;
  ssize_t n;
  while ((n = read(out[0], buf.data(), buf.size())) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    output->append(buf.data(), static_cast<size_t>(n));
  }
  close(out[0]);
  int child_errno = 0;
  bool exec_failed = read(err[0], &child_errno, sizeof child_errno) == sizeof child_errno;
  close(err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (exec_failed) {
    *output += "cannot run " + argv[0] + (dir.empty() ? "" : " in " + dir) + ": " +
               std::strerror(child_errno) + "\n";
    return 127;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string command_line(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& a : argv) {
    bool plain = !a.empty() && a.find_first_not_of(
                                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789-_=+./,:@%") == std::string::npos;
    line += (line.empty() ? "" : " ") + (plain ? a : shell_quote(a));
  }
  return line;
}

std::vector<std::string> ToolchainConfig::command(const std::vector<std::string>& extra) const {
  std::vector<std::string> argv = split_words(cxx);
  for (std::string& w : split_words(flags)) argv.push_back(std::move(w));
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

void blame_environment_for_compile_failure(const ToolchainConfig& cfg) {
  std::string from;
  for (const char* name : {"NASX_CXX", "CXX", "NASX_CXXFLAGS"})
    if (const char* v = std::getenv(name); v && *v) {
      if (std::string(name) == "CXX" && std::getenv("NASX_CXX") && *std::getenv("NASX_CXX"))
        continue;  // NASX_CXX wins over CXX
      if (std::string(name) == "NASX_CXXFLAGS" && env_or("NASX_DEBUG", "0") == "1")
        continue;  // NASX_DEBUG=1 replaces them
      from += std::string(from.empty() ? "" : ", ") + name + "=" + shell_quote(v);
    }
  if (from.empty()) return;
  fs::path base = fs::temp_directory_path() / "nasx-compiler-probe";
  TempFile cpp(temp_name_for(base.string()) + ".cpp"), so(temp_name_for(base.string()) + ".so");
  std::ofstream(cpp.path()) << "int nasx_probe() { return 0; }\n";
  std::string output;
  std::vector<std::string> argv = cfg.command({"-o", so.path(), cpp.path()});
  if (run_process(argv, &output) == 0) return;
  std::istringstream lines(output);
  std::string first, line;
  for (int k = 0; k < 3 && std::getline(lines, line); ++k) first += "\n  " + line;
  user_error("the C++ compiler cannot compile even an empty file with ", from,
             " from the environment (fix or unset it):", first,
             "\n  command: ", command_line(argv));
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

ToolchainConfig ToolchainConfig::from_env() {
  ToolchainConfig c;
  c.cxx = env_or("NASX_CXX", env_or("CXX", "g++"));
  bool debug = env_or("NASX_DEBUG", "0") == "1";
  std::string opt = debug ? "-g -O0" : env_or("NASX_CXXFLAGS", "-O3 -march=native");
  c.flags = "-std=c++17 -shared -fPIC -fopenmp -fno-math-errno -Wno-psabi " + opt;
  if (!target_isa().cxx_flags.empty()) c.flags += " " + target_isa().cxx_flags;
  // The XDG base directory specification: a relative path is invalid and ignored.
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (xdg && *xdg == '/') {
    c.cache_dir = fs::path(xdg) / "nasx";
  } else if (home && *home == '/') {
    c.cache_dir = fs::path(home) / ".cache" / "nasx";
  } else {
    c.cache_dir = fs::temp_directory_path() / "nasx-cache";
  }
  return c;
}

SharedLibrary::~SharedLibrary() {
  if (handle_) dlclose(handle_);
}

void* SharedLibrary::symbol(const std::string& name) const {
  void* p = dlsym(handle_, name.c_str());
  if (!p) internal_error("symbol ", name, " not found in ", path_.string());
  return p;
}

std::string compiler_version(const std::string& cxx) {
  static std::mutex mutex;
  static std::map<std::string, std::string> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(cxx);
  if (it != cache.end()) return it->second;
  std::string out;
  std::vector<std::string> argv = split_words(cxx);
  NASX_USER_CHECK(!argv.empty(), "the C++ compiler is empty (NASX_CXX or CXX is set to blanks)");
  argv.push_back("--version");
  if (run_process(argv, &out) != 0)
    user_error("the C++ compiler '", cxx, "' (from NASX_CXX/CXX) does not run: ", out);
  std::string first = out.substr(0, out.find('\n'));
  cache[cxx] = first;
  return first;
}

void check_kernel_cache(const ToolchainConfig& cfg) {
  std::error_code ec;
  fs::create_directories(cfg.cache_dir, ec);
  if (ec) user_error("cannot create the kernel cache ", cfg.cache_dir.string(), ": ", ec.message());
  NASX_USER_CHECK(access(cfg.cache_dir.c_str(), W_OK) == 0, "the kernel cache ",
                  cfg.cache_dir.string(),
                  " is not writable (set XDG_CACHE_HOME to another folder)");
}

CompileResult compile_and_load(const std::string& source, const ToolchainConfig& cfg) {
  check_kernel_cache(cfg);
  {
    // Once per cache directory and process: temporary files of killed processes go.
    static std::mutex m;
    static std::set<std::string> swept;
    std::lock_guard<std::mutex> lock(m);
    if (swept.insert(cfg.cache_dir.string()).second) {
      int n = remove_orphaned_temps(cfg.cache_dir);
      if (n)
        log(LogLevel::Info, "kernel cache: removed ", n, " temporary files of killed processes");
    }
  }

  CompileResult r;
  r.key = Hasher().add(source).add(cfg.cxx).add(cfg.flags).add(compiler_version(cfg.cxx)).hex();
  fs::path so = cfg.cache_dir / (r.key + ".so");
  fs::path src = cfg.cache_dir / (r.key + ".cpp");

  if (fs::exists(fs::symlink_status(so))) {
    std::string error;
    if (entry_is_whole(so, r.key)) {
      if ((r.library = try_open(so, &error))) {
        r.outcome = CacheOutcome::Hit;
        return r;
      }
    } else {
      error =
          fs::is_regular_file(fs::symlink_status(so)) ? "checksum mismatch" : "not a regular file";
    }
    bool older = older_format(so);
    // The cache is nasx's own folder: what stands at the entry's name goes (a directory too).
    std::error_code ec;
    fs::remove_all(so, ec);
    if (ec)
      user_error("cannot replace the corrupt kernel cache entry ", so.string(), ": ", ec.message());
    if (older)  // written by a nasx before entries were bound to their keys: not a fault
      log(LogLevel::Info, "kernel cache entry ", so.string(),
          " is of an older format; rebuilding it");
    else
      log(LogLevel::Warn, "kernel cache entry ", so.string(), " is corrupt (", error,
          "); rebuilding it");
    r.outcome = CacheOutcome::RebuiltCorrupt;
  } else {
    r.outcome = CacheOutcome::Miss;
  }
  build_entry(source, cfg, src, so, r.key);
  std::string error;
  r.library = try_open(so, &error);
  if (!r.library) internal_error("freshly built ", so.string(), " does not load: ", error);
  return r;
}

}  // namespace nasx
