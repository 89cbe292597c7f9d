#include "torch/torch_pickle.h"

#include <caffe2/serialize/in_memory_adapter.h>
#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <variant>
#include <vector>

#include "common/error.h"

namespace fvc::deep {
namespace {

struct Obj;
using Ref = std::shared_ptr<Obj>;

struct Obj {
  enum Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Tensor, Storage, Mark } kind = None;
  int64_t i = 0;
  double f = 0;
  std::string s;  // Str; Global as "module.name"
  std::vector<Ref> items;
  std::vector<std::pair<Ref, Ref>> dict;
  torch::Tensor t;  // Tensor, or Storage as a flat tensor of its dtype
};

Ref make(Obj::Kind k) {
  auto o = std::make_shared<Obj>();
  o->kind = k;
  return o;
}

torch::Dtype storageDtype(const std::string& global, const std::string& path) {
  static const std::map<std::string, torch::Dtype> types = {{"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
                                                            {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
                                                            {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
                                                            {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
                                                            {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};
  auto it = types.find(global);
  if (it == types.end()) throw Error(code::kInvalidData, path + ": storage type " + global + " is not supported");
  return it->second;
}

// A pickle machine for the opcodes torch.save emits (protocol 2; FRAME / MEMOIZE /
// STACK_GLOBAL of protocol 4 too). `storage(pid)` resolves a persistent id.
class Unpickler {
 public:
  Unpickler(const char* data, size_t size, std::string path, std::function<Ref(const Ref&)> storage)
      : p_(data), end_(data + size), path_(std::move(path)), storage_(std::move(storage)) {}

  Ref load() {
    for (;;) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80:
          byte();
          break;  // PROTO
        case 0x95:
          take(8);
          break;  // FRAME
        case '.':
          return pop();  // STOP
        case '(':
          push(make(Obj::Mark));
          break;
        case 'N':
          push(make(Obj::None));
          break;
        case 0x88:
        case 0x89: {
          auto b = make(Obj::Bool);
          b->i = op == 0x88;
          push(b);
          break;
        }
        case 'K':
          pushInt(byte());
          break;
        case 'M':
          pushInt(le(2, false));
          break;
        case 'J':
          pushInt(le(4, true));
          break;
        case 0x8a:
          pushInt(le(byte(), true));
          break;  // LONG1
        case 'G': {
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | byte();
          auto f = make(Obj::Float);
          std::memcpy(&f->f, &bits, 8);
          push(f);
          break;
        }
        case 'X':
        case 'T':
        case 'B':
          pushStr(le(4, false));
          break;
        case 0x8c:
        case 'U':
        case 'C':
          pushStr(byte());
          break;
        case '}':
          push(make(Obj::Dict));
          break;
        case ']':
          push(make(Obj::List));
          break;
        case ')':
          push(make(Obj::Tuple));
          break;
        case 't': {
          auto t = make(Obj::Tuple);
          t->items = popToMark();
          push(t);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {
          auto t = make(Obj::Tuple);
          t->items.resize(op - 0x84);
          for (size_t k = t->items.size(); k-- > 0;) t->items[k] = pop();
          push(t);
          break;
        }
        case 'q':
          memo_[byte()] = top();
          break;
        case 'r':
          memo_[le(4, false)] = top();
          break;
        case 0x94:
          memo_[static_cast<int64_t>(memo_.size())] = top();
          break;
        case 'h':
          push(get(byte()));
          break;
        case 'j':
          push(get(le(4, false)));
          break;
        case 'c': {
          std::string module = line(), name = line();
          auto g = make(Obj::Global);
          g->s = module + "." + name;
          push(g);
          break;
        }
        case 0x93: {
          Ref name = pop(), module = pop();
          auto g = make(Obj::Global);
          g->s = module->s + "." + name->s;
          push(g);
          break;
        }
        case 'Q':
          push(storage_(pop()));
          break;  // BINPERSID
        case 'R':
        case 0x81: {
          Ref args = pop(), fn = pop();
          push(reduce(fn, args));
          break;
        }
        case 'b':
          pop();
          break;  // BUILD: object state (a state dict's _metadata) is not needed
        case 's': {
          Ref v = pop(), k = pop();
          dictOf(top())->dict.emplace_back(k, v);
          break;
        }
        case 'u': {
          auto kv = popToMark();
          Ref d = dictOf(top());
          for (size_t k = 0; k + 1 < kv.size(); k += 2) d->dict.emplace_back(kv[k], kv[k + 1]);
          break;
        }
        case 'a': {
          Ref v = pop();
          listOf(top())->items.push_back(v);
          break;
        }
        case 'e': {
          auto vs = popToMark();
          Ref l = listOf(top());
          l->items.insert(l->items.end(), vs.begin(), vs.end());
          break;
        }
        default:
          fail("unsupported pickle opcode 0x" + hex(op));
      }
    }
  }
  const char* position() const { return p_; }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw Error(code::kInvalidData, path_ + ": not a readable torch.save file (" + why + ")"); }
  static std::string hex(unsigned v) {
    std::ostringstream s;
    s << std::hex << v;
    return s.str();
  }
  const char* take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) fail("truncated");
    const char* at = p_;
    p_ += n;
    return at;
  }
  uint8_t byte() { return static_cast<uint8_t>(*take(1)); }
  int64_t le(size_t n, bool sign) {
    const char* b = take(n);
    uint64_t v = 0;
    for (size_t k = n; k-- > 0;) v = (v << 8) | static_cast<uint8_t>(b[k]);
    if (sign && n > 0 && n < 8 && (static_cast<uint8_t>(b[n - 1]) & 0x80)) v |= ~uint64_t(0) << (8 * n);
    return static_cast<int64_t>(v);
  }
  std::string line() {
    const char* start = p_;
    while (p_ < end_ && *p_ != '\n') ++p_;
    if (p_ >= end_) fail("truncated");
    return std::string(start, p_++);
  }
  void push(Ref o) { stack_.push_back(std::move(o)); }
  void pushInt(int64_t v) {
    auto o = make(Obj::Int);
    o->i = v;
    push(o);
  }
  void pushStr(int64_t n) {
    if (n < 0) fail("negative length");
    auto o = make(Obj::Str);
    o->s.assign(take(static_cast<size_t>(n)), static_cast<size_t>(n));
    push(o);
  }
  Ref pop() {
    if (stack_.empty()) fail("stack underflow");
    Ref o = stack_.back();
    stack_.pop_back();
    return o;
  }
  Ref top() {
    if (stack_.empty()) fail("stack underflow");
    return stack_.back();
  }
  Ref get(int64_t k) {
    auto it = memo_.find(k);
    if (it == memo_.end()) fail("memo " + std::to_string(k) + " missing");
    return it->second;
  }
  std::vector<Ref> popToMark() {
    std::vector<Ref> out;
    for (;;) {
      Ref o = pop();
      if (o->kind == Obj::Mark) break;
      out.push_back(o);
    }
    return {out.rbegin(), out.rend()};
  }
  Ref dictOf(Ref o) {
    if (o->kind != Obj::Dict) fail("SETITEM on a non-dict");
    return o;
  }
  Ref listOf(Ref o) {
    if (o->kind != Obj::List) fail("APPEND on a non-list");
    return o;
  }
  static std::vector<int64_t> ints(const Ref& t) {
    std::vector<int64_t> v;
    for (const auto& x : t->items) v.push_back(x->i);
    return v;
  }
  Ref reduce(const Ref& fn, const Ref& args) {
    if (fn->kind != Obj::Global) fail("call of a non-global");
    const auto& a = args->items;
    if (fn->s == "collections.OrderedDict") return make(Obj::Dict);
    if (fn->s == "torch._utils._rebuild_tensor_v2" || fn->s == "torch._utils._rebuild_tensor") {
      if (a.size() < 4 || a[0]->kind != Obj::Storage) fail("malformed tensor");
      auto t = make(Obj::Tensor);
      t->t = a[0]->t.as_strided(ints(a[2]), ints(a[3]), a[1]->i);
      return t;
    }
    if (fn->s == "torch._utils._rebuild_parameter" || fn->s == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->kind != Obj::Tensor) fail("malformed parameter");
      return a[0];
    }
    // Anything else would mean running arbitrary code from the file: never.
    fail("it holds a " + fn->s + " object; fvc reads state dicts and checkpoints of tensors only");
  }

  const char* p_;
  const char* end_;
  std::string path_;
  std::function<Ref(const Ref&)> storage_;
  std::vector<Ref> stack_;
  std::map<int64_t, Ref> memo_;
};

// The persistent id of a storage: ('storage', type, key, location, numel[, view]).
struct StorageId {
  torch::Dtype dtype;
  std::string key;
  int64_t numel;
};

StorageId storageId(const Ref& pid, const std::string& path) {
  if (pid->kind != Obj::Tuple || pid->items.size() < 5 || pid->items[0]->s != "storage" || pid->items[1]->kind != Obj::Global)
    throw Error(code::kInvalidData, path + ": not a readable torch.save file (unexpected persistent id)");
  return {storageDtype(pid->items[1]->s, path), pid->items[2]->s, pid->items[4]->i};
}

void collect(const Ref& o, const std::string& prefix, TorchSaveFile& out) {
  if (o->kind != Obj::Dict) return;
  for (const auto& [k, v] : o->dict) {
    if (k->kind != Obj::Str) continue;
    if (v->kind == Obj::Tensor) out.dicts[prefix].emplace(k->s, v->t.contiguous());
    else if (v->kind == Obj::Dict) collect(v, prefix.empty() ? k->s : prefix + "/" + k->s, out);
  }
}

}  // namespace

TorchSaveFile readTorchSave(const std::string& path, const std::string& bytes) {
  TorchSaveFile out;
  Ref root;
  if (bytes.rfind("PK\x03\x04", 0) == 0) {
    std::unique_ptr<caffe2::serialize::PyTorchStreamReader> zip;
    try {
      // The bytes already read, not the file a second time.
      zip = std::make_unique<caffe2::serialize::PyTorchStreamReader>(
          std::make_shared<caffe2::serialize::MemoryReadAdapter>(bytes.data(), static_cast<off_t>(bytes.size())));
    } catch (const c10::Error& e) {
      throw Error(code::kInvalidData, path + ": not a readable torch.save file (" + std::string(e.what_without_backtrace()).substr(0, 200) + ")");
    }
    std::map<std::string, Ref> storages;
    auto storage = [&](const Ref& pid) {
      StorageId id = storageId(pid, path);
      auto it = storages.find(id.key);
      if (it != storages.end()) return it->second;
      const std::string record = "data/" + id.key;
      if (!zip->hasRecord(record)) throw Error(code::kInvalidData, path + ": storage record " + record + " is missing (truncated?)");
      auto [data, size] = zip->getRecord(record);
      const size_t elem = torch::elementSize(id.dtype);
      if (size % elem != 0 || static_cast<int64_t>(size / elem) < id.numel)
        throw Error(code::kInvalidData, path + ": storage " + record + " is shorter than its tensors");
      auto s = make(Obj::Storage);
      s->t = torch::empty({static_cast<int64_t>(size / elem)}, torch::TensorOptions().dtype(id.dtype));
      std::memcpy(s->t.data_ptr(), data.get(), size);
      storages[id.key] = s;
      return s;
    };
    if (!zip->hasRecord("data.pkl")) throw Error(code::kInvalidData, path + ": a zip file without data.pkl, so not a torch.save file");
    auto [pkl, size] = zip->getRecord("data.pkl");
    root = Unpickler(static_cast<const char*>(pkl.get()), size, path, storage).load();
  } else {
    // Legacy: five pickles in a row, then each storage as a little-endian element count and its bytes.
    std::map<std::string, Ref> storages;
    auto storage = [&](const Ref& pid) {
      StorageId id = storageId(pid, path);
      auto& s = storages[id.key];
      if (!s) {
        s = make(Obj::Storage);
        s->t = torch::empty({id.numel}, torch::TensorOptions().dtype(id.dtype));
      }
      return s;
    };
    const char* p = bytes.data();
    const char* end = p + bytes.size();
    auto next = [&](std::function<Ref(const Ref&)> st) {
      Unpickler u(p, end - p, path, std::move(st));
      Ref r = u.load();
      p = u.position();
      return r;
    };
    auto none = [&](const Ref&) -> Ref { throw Error(code::kInvalidData, path + ": not a readable torch.save file (storage in a header)"); };
    // The magic number (0x1950a86a20f9469cfc6c) is wider than 64 bits: that it is a number is the check.
    if (next(none)->kind != Obj::Int) throw Error(code::kInvalidData, path + ": neither .safetensors nor a torch.save file");
    next(none);  // protocol version
    next(none);  // system info
    root = next(storage);
    Ref keys = next(none);
    for (const auto& k : keys->items) {
      auto it = storages.find(k->s);
      if (it == storages.end()) throw Error(code::kInvalidData, path + ": storage " + k->s + " listed but never used");
      if (end - p < 8) throw Error(code::kInvalidData, path + ": truncated before storage " + k->s);
      int64_t n = 0;
      std::memcpy(&n, p, 8);
      p += 8;
      torch::Tensor& t = it->second->t;
      const size_t bytesNeeded = static_cast<size_t>(n) * t.element_size();
      if (n != t.numel() || static_cast<size_t>(end - p) < bytesNeeded)
        throw Error(code::kInvalidData, path + ": storage " + k->s + " is truncated or has another size");
      std::memcpy(t.data_ptr(), p, bytesNeeded);
      p += bytesNeeded;
    }
  }
  collect(root, "", out);
  if (out.dicts.empty()) throw Error(code::kInvalidData, path + ": holds no dict of tensors, so not a state dict");
  return out;
}

}  // namespace fvc::deep
