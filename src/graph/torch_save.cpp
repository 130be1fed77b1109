#include "graph/torch_save.h"

#include <zip.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include "support/error.h"
#include "support/file.h"

namespace nasx {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

[[noreturn]] void corrupt(const std::string& path, const std::string& what) {
  user_error("--weights ", path, ": not a readable torch.save state_dict (", what, ")");
}

// The records of torch.save's zip archive ("ARCHIVE/data.pkl", "ARCHIVE/data/0", ...: every
// name under one top folder, which torch.save names after the file), read from memory.
class ZipArchive {
 public:
  ZipArchive(const std::string& bytes, const std::string& path) : path_(path) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
    if (src) zip_ = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &error);
    if (!zip_) {
      if (src) zip_source_free(src);
      std::string why = zip_error_strerror(&error);
      zip_error_fini(&error);
      corrupt(path, "the zip archive does not open: " + why + "; truncated or corrupt?");
    }
    zip_error_fini(&error);
    // From here the archive is open: a failure must close it (no destructor runs for an object
    // whose constructor throws).
    zip_int64_t n = zip_get_num_entries(zip_, 0);
    const char* first = n > 0 ? zip_get_name(zip_, 0, 0) : nullptr;
    std::string name = first ? first : "";
    size_t slash = name.find('/');
    if (n <= 0 || slash == std::string::npos || slash == 0) {
      zip_discard(zip_);
      corrupt(path, n <= 0 ? "an empty zip archive" : "a zip archive without a top folder");
    }
    prefix_ = name.substr(0, slash + 1);
  }
  ~ZipArchive() {
    if (zip_) zip_discard(zip_);
  }
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  bool has(const std::string& record) const {
    return zip_name_locate(zip_, (prefix_ + record).c_str(), 0) >= 0;
  }

  // The record's bytes; at most `max_bytes`, and (a compressed record) at most deflate's ratio
  // over its compressed size: a lying header cannot make this allocate more than that.
  std::string read(const std::string& record, uint64_t max_bytes) {
    zip_int64_t index = zip_name_locate(zip_, (prefix_ + record).c_str(), 0);
    if (index < 0) corrupt(path_, "the archive lacks " + record);
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip_, index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
        !(st.valid & ZIP_STAT_COMP_SIZE))
      corrupt(path_, record + " has no size");
    uint64_t bound = std::min<uint64_t>(max_bytes, st.comp_size * 1032 + 1024);
    if (st.size > bound) corrupt(path_, record + " claims " + std::to_string(st.size) + " bytes");
    zip_file_t* f = zip_fopen_index(zip_, index, 0);
    if (!f) corrupt(path_, record + " does not open: " + zip_strerror(zip_));
    std::string out(st.size, '\0');
    zip_int64_t got = st.size ? zip_fread(f, out.data(), st.size) : 0;
    char extra;
    bool more = st.size < bound && zip_fread(f, &extra, 1) > 0;
    zip_fclose(f);
    if (got != static_cast<zip_int64_t>(st.size) || more)
      corrupt(path_, record + " does not hold the bytes its header says: truncated or corrupt?");
    return out;
  }

 private:
  std::string path_;
  zip_t* zip_ = nullptr;
  std::string prefix_;
};

// The storage element types of a state_dict; only the floating-point ones become weights.
enum class Dtype { F32, F64, F16, BF16, I64, I32, I16, I8, U8, Bool };

struct DtypeInfo {
  Dtype dtype;
  size_t bytes;
  const char* name;
};

const DtypeInfo* storage_dtype(const std::string& global) {
  static const std::map<std::string, DtypeInfo> types = {
      {"torch.FloatStorage", {Dtype::F32, 4, "float32"}},
      {"torch.DoubleStorage", {Dtype::F64, 8, "float64"}},
      {"torch.HalfStorage", {Dtype::F16, 2, "float16"}},
      {"torch.BFloat16Storage", {Dtype::BF16, 2, "bfloat16"}},
      {"torch.LongStorage", {Dtype::I64, 8, "int64"}},
      {"torch.IntStorage", {Dtype::I32, 4, "int32"}},
      {"torch.ShortStorage", {Dtype::I16, 2, "int16"}},
      {"torch.CharStorage", {Dtype::I8, 1, "int8"}},
      {"torch.ByteStorage", {Dtype::U8, 1, "uint8"}},
      {"torch.BoolStorage", {Dtype::Bool, 1, "bool"}}};
  auto it = types.find(global);
  return it == types.end() ? nullptr : &it->second;
}

float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000 | mant << 13;  // inf, nan
  } else if (exp != 0) {
    bits = sign | (exp + 112) << 23 | mant << 13;
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while (!(mant & 0x400));
    bits = sign | uint32_t(112 - e) << 23 | (mant & 0x3ff) << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// One element of a little-endian storage as float (floating-point dtypes only).
float element(const char* p, Dtype dtype) {
  switch (dtype) {
    case Dtype::F32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case Dtype::F64: {
      double d;
      std::memcpy(&d, p, 8);
      return static_cast<float>(d);
    }
    case Dtype::F16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return half_to_float(h);
    }
    case Dtype::BF16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      uint32_t bits = uint32_t(h) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    default:
      return 0;
  }
}

bool floating(Dtype d) {
  return d == Dtype::F32 || d == Dtype::F64 || d == Dtype::F16 || d == Dtype::BF16;
}

// A storage: its bytes (shared by every view of it) and element type.
struct StorageData {
  std::shared_ptr<const std::string> bytes;
  const DtypeInfo* dtype = nullptr;
  int64_t numel = 0;
};

// A value of the pickle machine: only what a state_dict's data.pkl builds.
struct Value;
using ValuePtr = std::shared_ptr<Value>;
struct Value {
  enum Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, TensorValue };
  Kind kind = None;
  int64_t i = 0;
  double f = 0;
  std::string s;                // String; Global "module.name"
  std::vector<ValuePtr> items;  // Tuple, List; Dict as key, value, key, value, ...
  StorageData storage;          // Storage, and the storage a TensorValue views
  int64_t offset = 0;           // TensorValue: a strided view of `storage`
  std::vector<int64_t> size, stride;
  int depth = 0;        // nesting of containers (bounded: freeing is recursive)
  bool sealed = false;  // held by a container: no longer appended to
};

ValuePtr make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

// torch.save's data.pkl is a pickle (protocol 2 by default) that builds an OrderedDict of
// tensors through torch._utils._rebuild_tensor_v2 over storages kept in the zip's data/ records.
// LibTorch's own unpickler turns every OrderedDict into None (it expects them only as a tensor's
// empty backward hooks), so it cannot read a state_dict: this small interpreter does, accepting
// the opcodes and globals a state_dict uses and refusing anything else by name.
class StateDictUnpickler {
 public:
  StateDictUnpickler(const std::string& path, ZipArchive& zip, const std::string& pickle)
      : path_(path), zip_(zip), p_(pickle) {}

  ValuePtr run() {
    while (true) {
      uint8_t op = byte();
      switch (op) {
        case 0x80:
          byte();
          break;  // PROTO
        case 0x95:
          bytes(8);
          break;     // FRAME
        case 'c': {  // GLOBAL
          std::string module = line(), name = line();
          push_global(module + "." + name);
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          ValuePtr name = pop(), module = pop();
          expect(name->kind == Value::String && module->kind == Value::String, "STACK_GLOBAL");
          push_global(module->s + "." + name->s);
          break;
        }
        case 'q':
          memo_[byte()] = top();
          break;  // BINPUT
        case 'r':
          memo_[u32()] = top();
          break;  // LONG_BINPUT
        case 0x94:
          memo_[memo_.size()] = top();
          break;  // MEMOIZE
        case 'h':
          push(memo(byte()));
          break;  // BINGET
        case 'j':
          push(memo(u32()));
          break;  // LONG_BINGET
        case '(':
          marks_.push_back(stack_.size());
          break;  // MARK
        case ')':
          push(make(Value::Tuple));
          break;
        case '}':
          push(make(Value::Dict));
          break;
        case ']':
          push(make(Value::List));
          break;
        case 't':
          push(collect(Value::Tuple));
          break;
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          ValuePtr t = make(Value::Tuple);
          t->items.resize(op - 0x84);
          for (size_t k = t->items.size(); k-- > 0;) t->items[k] = pop();
          for (const ValuePtr& x : t->items) nest(*t, *x);
          push(t);
          break;
        }
        case 'l':
          push(collect(Value::List));
          break;  // LIST
        case 'N':
          push(make(Value::None));
          break;
        case 0x88:
        case 0x89: {  // NEWTRUE, NEWFALSE
          ValuePtr b = make(Value::Bool);
          b->i = op == 0x88;
          push(b);
          break;
        }
        case 'K':
          push_int(byte());
          break;     // BININT1
        case 'M': {  // BININT2
          int lo = byte();
          push_int(lo | byte() << 8);
          break;
        }
        case 'J':
          push_int(static_cast<int32_t>(u32()));
          break;      // BININT
        case 0x8a: {  // LONG1
          size_t n = byte();
          expect(n <= 8, "LONG1 wider than 64 bits");
          uint64_t v = 0;
          for (size_t k = 0; k < n; ++k) v |= static_cast<uint64_t>(byte()) << (8 * k);
          if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign
          push_int(static_cast<int64_t>(v));
          break;
        }
        case 'G': {  // BINFLOAT, big-endian
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = bits << 8 | byte();
          ValuePtr f = make(Value::Float);
          std::memcpy(&f->f, &bits, 8);
          push(f);
          break;
        }
        case 'X':
          push_string(bytes(u32()));
          break;  // BINUNICODE
        case 0x8c:
          push_string(bytes(byte()));
          break;  // SHORT_BINUNICODE
        case 'T':
          push_string(bytes(u32()));
          break;  // BINSTRING
        case 'U':
          push_string(bytes(byte()));
          break;  // SHORT_BINSTRING
        case 'Q':
          push(storage(pop()));
          break;     // BINPERSID
        case 'R': {  // REDUCE
          ValuePtr args = pop(), fn = pop();
          push(reduce(fn, args));
          break;
        }
        case 's': {  // SETITEM
          ValuePtr v = pop(), k = pop();
          set_items(top(), {k, v});
          break;
        }
        case 'u': {  // SETITEMS
          ValuePtr items = collect(Value::List);
          set_items(top(), items->items);
          break;
        }
        case 'a': {  // APPEND
          ValuePtr v = pop();
          expect(top()->kind == Value::List, "APPEND to a non-list");
          nest(*top(), *v);
          top()->items.push_back(v);
          break;
        }
        case 'e': {  // APPENDS
          ValuePtr items = collect(Value::List);
          expect(top()->kind == Value::List, "APPENDS to a non-list");
          for (auto& v : items->items) {
            nest(*top(), *v);
            top()->items.push_back(v);
          }
          break;
        }
        case 'b':
          pop();
          break;  // BUILD: an OrderedDict's _metadata (versions), not needed
        case '.':
          return pop();  // STOP
        default:
          fail("pickle opcode 0x" + hex(op) + " at byte " + std::to_string(at_ - 1) +
               " is not one a state_dict uses");
      }
    }
  }

 private:
  const std::string& path_;
  ZipArchive& zip_;
  const std::string& p_;
  size_t at_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, ValuePtr> memo_;
  std::map<std::string, StorageData> storages_;  // by key: views share their storage
  uint64_t storage_bytes_ = 0;                   // read so far: bounded, as the file is

  [[noreturn]] void fail(const std::string& what) const { corrupt(path_, what); }
  void expect(bool ok, const std::string& what) const {
    if (!ok) fail(what);
  }
  static std::string hex(uint8_t b) {
    const char* d = "0123456789abcdef";
    return {d[b >> 4], d[b & 15]};
  }
  uint8_t byte() {
    expect(at_ < p_.size(), "data.pkl ends early: truncated");
    return static_cast<uint8_t>(p_[at_++]);
  }
  std::string bytes(size_t n) {
    expect(n <= p_.size() - at_, "data.pkl ends early: truncated");
    at_ += n;
    return p_.substr(at_ - n, n);
  }
  uint32_t u32() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v |= static_cast<uint32_t>(byte()) << (8 * k);
    return v;
  }
  std::string line() {
    size_t end = p_.find('\n', at_);
    expect(end != std::string::npos, "data.pkl ends early: truncated");
    std::string s = p_.substr(at_, end - at_);
    at_ = end + 1;
    return s;
  }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  // A container holds a value: a state_dict nests a few levels; a hostile pickle could nest a
  // million (and its recursive destruction would overflow the stack) or hold itself.
  // A value, once held, is sealed: appending to it later would deepen its holders unseen.
  void nest(Value& parent, Value& child) {
    expect(&parent != &child && !parent.sealed, "a pickle container changed after it was nested");
    child.sealed = true;
    parent.depth = std::max(parent.depth, child.depth + 1);
    expect(parent.depth <= 64, "pickle values nested more than 64 deep");
  }
  ValuePtr& top() {
    expect(!stack_.empty() && (marks_.empty() || stack_.size() > marks_.back()),
           "pickle stack underflow");
    return stack_.back();
  }
  ValuePtr pop() {
    ValuePtr v = top();
    stack_.pop_back();
    return v;
  }
  ValuePtr memo(uint64_t k) {
    auto it = memo_.find(k);
    expect(it != memo_.end(), "pickle memo " + std::to_string(k) + " is unset");
    return it->second;
  }
  ValuePtr collect(Value::Kind kind) {  // everything since the last MARK
    expect(!marks_.empty(), "pickle MARK missing");
    ValuePtr v = make(kind);
    v->items.assign(stack_.begin() + marks_.back(), stack_.end());
    for (const ValuePtr& x : v->items) nest(*v, *x);
    stack_.resize(marks_.back());
    marks_.pop_back();
    return v;
  }
  void push_int(int64_t i) {
    ValuePtr v = make(Value::Int);
    v->i = i;
    push(v);
  }
  void push_string(std::string s) {
    ValuePtr v = make(Value::String);
    v->s = std::move(s);
    push(v);
  }
  void push_global(const std::string& name) {
    bool storage = name.rfind("torch.", 0) == 0 && ends_with(name, "Storage");
    expect(storage || name == "collections.OrderedDict" ||
               name == "torch._utils._rebuild_tensor_v2" ||
               name == "torch._utils._rebuild_parameter",
           "it refers to " + name +
               ", which a state_dict does not hold: save model.state_dict(), not the model");
    ValuePtr g = make(Value::Global);
    g->s = name;
    push(g);
  }
  void set_items(const ValuePtr& dict, const std::vector<ValuePtr>& kv) {
    expect(dict->kind == Value::Dict, "SETITEMS on a non-dict");
    expect(kv.size() % 2 == 0, "SETITEMS with an odd count");
    for (const ValuePtr& v : kv) nest(*dict, *v);
    dict->items.insert(dict->items.end(), kv.begin(), kv.end());
  }

  // A persistent id ('storage', torch.FloatStorage, key, location, numel): the zip's data/KEY.
  ValuePtr storage(const ValuePtr& pid) {
    expect(pid->kind == Value::Tuple && pid->items.size() >= 5 &&
               pid->items[0]->kind == Value::String && pid->items[0]->s == "storage" &&
               pid->items[1]->kind == Value::Global && pid->items[2]->kind == Value::String &&
               pid->items[4]->kind == Value::Int,
           "a persistent id that is not a storage");
    const DtypeInfo* dtype = storage_dtype(pid->items[1]->s);
    expect(dtype, "storage type " + pid->items[1]->s + " is not supported");
    const std::string& key = pid->items[2]->s;
    int64_t numel = pid->items[4]->i;
    ValuePtr v = make(Value::Storage);
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      std::string record = "data/" + key;
      expect(zip_.has(record), "the archive lacks " + record);
      constexpr uint64_t kMaxBytes = uint64_t{8} << 30;  // as read_torch_state_dict's file
      auto bytes = std::make_shared<const std::string>(
          zip_.read(record, kMaxBytes - std::min(kMaxBytes, storage_bytes_)));
      storage_bytes_ += bytes->size();
      expect(numel >= 0 && static_cast<uint64_t>(numel) <= bytes->size() / dtype->bytes,
             record + " holds " + std::to_string(bytes->size()) + " bytes, fewer than its " +
                 std::to_string(numel) + " elements");
      it = storages_.emplace(key, StorageData{bytes, dtype, numel}).first;
    }
    expect(it->second.dtype == dtype && it->second.numel == numel,
           "storage " + key + " is referred to with two types or sizes");
    v->storage = it->second;
    return v;
  }

  static bool int_tuple(const ValuePtr& v, std::vector<int64_t>* out) {
    if (v->kind != Value::Tuple) return false;
    for (const ValuePtr& x : v->items) {
      if (x->kind != Value::Int || x->i < 0) return false;
      out->push_back(x->i);
    }
    return true;
  }

  ValuePtr reduce(const ValuePtr& fn, const ValuePtr& args) {
    expect(fn->kind == Value::Global && args->kind == Value::Tuple, "REDUCE of a non-global");
    if (fn->s == "collections.OrderedDict") return make(Value::Dict);  // filled by SETITEMS
    const auto& a = args->items;
    if (fn->s == "torch._utils._rebuild_parameter") {  // (tensor, requires_grad, hooks)
      expect(!a.empty() && a[0]->kind == Value::TensorValue, "a parameter without a tensor");
      return a[0];
    }
    if (fn->s != "torch._utils._rebuild_tensor_v2") fail("REDUCE of " + fn->s);
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    std::vector<int64_t> size, stride;
    expect(a.size() >= 4 && a[0]->kind == Value::Storage && a[1]->kind == Value::Int &&
               int_tuple(a[2], &size) && int_tuple(a[3], &stride) && size.size() == stride.size(),
           "a tensor with malformed storage, offset, size or stride");
    // Every size and stride is bounded before any product, so nothing overflows; a view may not
    // hold more elements than its storage (a zero stride repeating one element 2^40 times would
    // otherwise be materialised by the copy below).
    constexpr int64_t kLimit = int64_t(1) << 31;
    int64_t last = a[1]->i, numel = a[0]->storage.numel, elements = 1;
    expect(size.size() <= 8, "a tensor with more than 8 dimensions");
    bool empty = false;
    for (size_t d = 0; d < size.size(); ++d) {
      expect(size[d] <= kLimit && stride[d] <= kLimit, "a tensor size or stride out of range");
      empty = empty || size[d] == 0;
      if (size[d] > 0) last += (size[d] - 1) * stride[d];
      elements = std::min(elements * std::max<int64_t>(size[d], 1), kLimit * 2);
      expect(last <= kLimit * 16, "a tensor reaches past the end of its storage");
    }
    expect(empty || (a[1]->i >= 0 && last < numel && elements <= numel),
           "a tensor reaches past the end of its storage");
    ValuePtr t = make(Value::TensorValue);
    t->storage = a[0]->storage;
    t->offset = empty ? 0 : a[1]->i;
    t->size = size;
    t->stride = stride;
    return t;
  }
};

// The view as a dense float32 tensor (its bounds were checked when it was built).
Tensor dense(const Value& v) {
  Tensor t(Shape(v.size.begin(), v.size.end()));
  const char* base = v.storage.bytes->data();
  size_t bytes = v.storage.dtype->bytes;
  std::vector<int64_t> index(v.size.size(), 0);
  for (int64_t k = 0; k < t.size(); ++k) {
    int64_t at = v.offset;
    for (size_t d = 0; d < index.size(); ++d) at += index[d] * v.stride[d];
    t.data[k] = element(base + at * bytes, v.storage.dtype->dtype);
    for (size_t d = index.size(); d-- > 0;) {
      if (++index[d] < v.size[d]) break;
      index[d] = 0;
    }
  }
  return t;
}

}  // namespace

bool is_torch_weights_path(const std::string& path) {
  return ends_with(path, ".pt") || ends_with(path, ".pth");
}

std::vector<std::pair<std::string, Tensor>> read_torch_state_dict(const std::string& path) {
  // Bounded like every file nasx reads whole; the largest zoo model's weights take 120 MB.
  return parse_torch_state_dict(read_file(path, "a torch.save state_dict", size_t{8} << 30), path);
}

std::vector<std::pair<std::string, Tensor>> parse_torch_state_dict(const std::string& bytes,
                                                                   const std::string& path) {
  // torch.save has written a zip archive by default since PyTorch 1.6.
  NASX_USER_CHECK(bytes.size() >= 4 && bytes.compare(0, 4, "PK\x03\x04") == 0, "--weights ", path,
                  ": not a file written by torch.save (no zip archive",
                  bytes.empty() ? ": it is empty" : "",
                  !bytes.empty() && static_cast<unsigned char>(bytes[0]) == 0x80
                      ? "; the legacy format of _use_new_zipfile_serialization=False is not read"
                      : "",
                  ")");
  ZipArchive zip(bytes, path);
  NASX_USER_CHECK(zip.has("data.pkl"), "--weights ", path,
                  ": a zip archive without data.pkl, not a torch.save file");
  if (zip.has("byteorder")) {
    std::string order = zip.read("byteorder", 16);
    NASX_USER_CHECK(order == "little", "--weights ", path, ": saved with byte order '", order,
                    "'; only little-endian files are read");
  }
  std::string pickle = zip.read("data.pkl", uint64_t{256} << 20);
  ValuePtr root = StateDictUnpickler(path, zip, pickle).run();
  NASX_USER_CHECK(root->kind == Value::Dict, "--weights ", path,
                  ": holds no dict of tensors; save model.state_dict()");
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t k = 0; k + 1 < root->items.size(); k += 2) {
    const Value& key = *root->items[k];
    const Value& value = *root->items[k + 1];
    NASX_USER_CHECK(key.kind == Value::String, "--weights ", path,
                    ": a state_dict key is not a string");
    if (ends_with(key.s, ".num_batches_tracked")) continue;
    NASX_USER_CHECK(value.kind == Value::TensorValue, "--weights ", path, ": ", key.s,
                    " is not a tensor");
    NASX_USER_CHECK(floating(value.storage.dtype->dtype), "--weights ", path, ": ", key.s,
                    " holds ", value.storage.dtype->name, ", not floating-point numbers");
    out.emplace_back(key.s, dense(value));
  }
  return out;
}

}  // namespace nasx
