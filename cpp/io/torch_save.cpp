#include "io/torch_save.h"

#include <cstring>
#include <functional>
#include <set>
#include <unordered_map>
#include <utility>

#include "common/error.h"
#include "io/safetensors.h"
#include "io/zip_archive.h"

namespace fvc {
namespace {

using Id = uint32_t;

struct Obj {
  enum Kind : uint8_t { None, Bool, Int, BigInt, Float, Str, Tuple, List, Dict, Global, Tensor, Storage, Mark } kind = None;
  int64_t i = 0;          // Int, Bool; the index of a Tensor or Storage
  std::string s;          // Str; Global as "module.name"; BigInt's little-endian bytes
  std::vector<Id> items;  // Tuple, List; Dict as key, value, key, value, ...
};

// Objects live in one arena and refer to each other by index, so nothing is freed
// recursively and a container that holds itself (possible through the memo) is harmless.
struct Context {
  std::string path;
  std::vector<Obj> objs;
  uint64_t ops = 0;
  std::vector<TorchSaveStorage> storages;
  std::map<std::string, size_t> storageByKey;
  std::vector<TorchSaveTensor> tensors;

  [[noreturn]] void fail(const std::string& why) const { throw Error(code::kInvalidData, path + ": not a readable torch.save file (" + why + ")"); }
  Id make(Obj::Kind k) {
    if (objs.size() >= kMaxPickleObjects) fail("more than " + std::to_string(kMaxPickleObjects) + " objects");
    objs.emplace_back().kind = k;
    return static_cast<Id>(objs.size() - 1);
  }
  Obj& at(Id id) { return objs[id]; }
  int64_t intOf(Id id, const char* what) {
    const Obj& o = objs[id];
    if (o.kind == Obj::BigInt) fail(std::string(what) + " is a number wider than 64 bits");
    if (o.kind != Obj::Int) fail(std::string(what) + " is not an integer");
    return o.i;
  }
};

const char* storageDtype(const std::string& global) {
  static const std::map<std::string, const char*> types = {
      {"torch.FloatStorage", "F32"}, {"torch.DoubleStorage", "F64"}, {"torch.HalfStorage", "F16"},  {"torch.BFloat16Storage", "BF16"},
      {"torch.LongStorage", "I64"},  {"torch.IntStorage", "I32"},    {"torch.ShortStorage", "I16"}, {"torch.CharStorage", "I8"},
      {"torch.ByteStorage", "U8"},   {"torch.BoolStorage", "BOOL"}};
  auto it = types.find(global);
  return it == types.end() ? nullptr : it->second;
}

// A pickle machine for the opcodes torch.save emits (protocol 2; FRAME / MEMOIZE /
// STACK_GLOBAL of protocol 4 too). `storage(pid)` resolves a persistent id.
class Unpickler {
 public:
  Unpickler(Context& c, std::string_view data, std::function<Id(Id)> storage)
      : c_(c), p_(data.data()), end_(data.data() + data.size()), storage_(std::move(storage)) {}

  Id load() {
    for (;;) {
      if (++c_.ops > kMaxPickleOps) c_.fail("more than " + std::to_string(kMaxPickleOps) + " pickle opcodes");
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
          push(c_.make(Obj::Mark));
          break;
        case 'N':
          push(c_.make(Obj::None));
          break;
        case 0x88:
        case 0x89: {
          const Id b = c_.make(Obj::Bool);
          c_.at(b).i = op == 0x88;
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
        case 0x8a: {  // LONG1: a little-endian two's complement integer of n bytes
          const size_t n = byte();
          if (n <= 8) {
            pushInt(le(n, true));
          } else {
            const Id big = c_.make(Obj::BigInt);
            c_.at(big).s.assign(take(n), n);
            push(big);
          }
          break;
        }
        case 'G':  // BINFLOAT: no float places a tensor, so its value is not kept
          take(8);
          push(c_.make(Obj::Float));
          break;
        case 'X':
        case 'T':
        case 'B':
          pushStr(static_cast<uint64_t>(le(4, false)));
          break;
        case 0x8c:
        case 'U':
        case 'C':
          pushStr(byte());
          break;
        case '}':
          push(c_.make(Obj::Dict));
          break;
        case ']':
          push(c_.make(Obj::List));
          break;
        case ')':
          push(c_.make(Obj::Tuple));
          break;
        case 't': {
          std::vector<Id> items = popToMark();
          const Id t = c_.make(Obj::Tuple);
          c_.at(t).items = std::move(items);
          push(t);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {
          std::vector<Id> items(op - 0x84);
          for (size_t k = items.size(); k-- > 0;) items[k] = pop();
          const Id t = c_.make(Obj::Tuple);
          c_.at(t).items = std::move(items);
          push(t);
          break;
        }
        case 'q':
          memoize(byte());
          break;
        case 'r':
          memoize(le(4, false));
          break;
        case 0x94:
          memoize(static_cast<int64_t>(memo_.size()));
          break;
        case 'h':
          push(get(byte()));
          break;
        case 'j':
          push(get(le(4, false)));
          break;
        case 'c': {
          std::string module = line(), name = line();
          pushGlobal(module + "." + name);
          break;
        }
        case 0x93: {
          const Id name = pop(), module = pop();
          if (c_.at(name).kind != Obj::Str || c_.at(module).kind != Obj::Str) c_.fail("STACK_GLOBAL of a non-string");
          pushGlobal(c_.at(module).s + "." + c_.at(name).s);
          break;
        }
        case 'Q':
          push(storage_(pop()));
          break;  // BINPERSID
        case 'R':
        case 0x81: {
          const Id args = pop(), fn = pop();
          push(reduce(fn, args));
          break;
        }
        case 'b':
          pop();
          break;  // BUILD: object state (a state dict's _metadata) is not needed
        case 's': {
          const Id v = pop(), k = pop();
          auto& d = dictOf(top()).items;
          d.push_back(k);
          d.push_back(v);
          break;
        }
        case 'u': {
          std::vector<Id> kv = popToMark();
          if (kv.size() % 2) c_.fail("SETITEMS with a key but no value");
          auto& d = dictOf(top()).items;
          d.insert(d.end(), kv.begin(), kv.end());
          break;
        }
        case 'a': {
          const Id v = pop();
          listOf(top()).items.push_back(v);
          break;
        }
        case 'e': {
          std::vector<Id> vs = popToMark();
          auto& l = listOf(top()).items;
          l.insert(l.end(), vs.begin(), vs.end());
          break;
        }
        default:
          c_.fail("unsupported pickle opcode 0x" + hex(op));
      }
    }
  }
  const char* position() const { return p_; }

 private:
  static std::string hex(unsigned v) {
    static const char* digits = "0123456789abcdef";
    return std::string{digits[(v >> 4) & 15], digits[v & 15]};
  }
  const char* take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) c_.fail("truncated");
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
    const void* nl = std::memchr(p_, '\n', static_cast<size_t>(end_ - p_));
    if (!nl) c_.fail("truncated");
    std::string out(p_, static_cast<const char*>(nl));
    p_ = static_cast<const char*>(nl) + 1;
    return out;
  }
  void push(Id o) {
    if (stack_.size() >= kMaxPickleStack) c_.fail("nested deeper than " + std::to_string(kMaxPickleStack) + " stack entries");
    stack_.push_back(o);
  }
  void pushInt(int64_t v) {
    const Id o = c_.make(Obj::Int);
    c_.at(o).i = v;
    push(o);
  }
  void pushStr(uint64_t n) {
    const char* s = take(n);
    const Id o = c_.make(Obj::Str);
    c_.at(o).s.assign(s, n);
    push(o);
  }
  void pushGlobal(std::string name) {
    const Id g = c_.make(Obj::Global);
    c_.at(g).s = std::move(name);
    push(g);
  }
  Id pop() {
    if (stack_.empty()) c_.fail("stack underflow");
    const Id o = stack_.back();
    stack_.pop_back();
    return o;
  }
  Id top() {
    if (stack_.empty()) c_.fail("stack underflow");
    return stack_.back();
  }
  void memoize(int64_t k) {
    if (memo_.size() >= kMaxPickleStack * 40 && !memo_.count(k)) c_.fail("more than " + std::to_string(kMaxPickleStack * 40) + " memo entries");
    memo_[k] = top();
  }
  Id get(int64_t k) {
    auto it = memo_.find(k);
    if (it == memo_.end()) c_.fail("memo " + std::to_string(k) + " missing");
    return it->second;
  }
  std::vector<Id> popToMark() {
    std::vector<Id> out;
    for (;;) {
      const Id o = pop();
      if (c_.at(o).kind == Obj::Mark) break;
      out.push_back(o);
    }
    return {out.rbegin(), out.rend()};
  }
  Obj& dictOf(Id o) {
    if (c_.at(o).kind != Obj::Dict) c_.fail("SETITEM on a non-dict");
    return c_.at(o);
  }
  Obj& listOf(Id o) {
    if (c_.at(o).kind != Obj::List) c_.fail("APPEND on a non-list");
    return c_.at(o);
  }
  std::vector<int64_t> ints(Id t, const char* what) {
    if (c_.at(t).kind != Obj::Tuple) c_.fail(std::string("a tensor's ") + what + " is not a tuple");
    const std::vector<Id> items = c_.at(t).items;
    if (items.size() > kMaxTensorDims) c_.fail("a tensor of " + std::to_string(items.size()) + " dimensions");
    std::vector<int64_t> v;
    for (Id x : items) v.push_back(c_.intOf(x, what));
    return v;
  }
  Id reduce(Id fnId, Id argsId) {
    if (c_.at(fnId).kind != Obj::Global) c_.fail("call of a non-global");
    if (c_.at(argsId).kind != Obj::Tuple) c_.fail("call with arguments that are not a tuple");
    const std::string fn = c_.at(fnId).s;
    const std::vector<Id> a = c_.at(argsId).items;
    if (fn == "collections.OrderedDict") return c_.make(Obj::Dict);
    if (fn == "torch._utils._rebuild_tensor_v2" || fn == "torch._utils._rebuild_tensor") {
      if (a.size() < 4 || c_.at(a[0]).kind != Obj::Storage) c_.fail("malformed tensor");
      TorchSaveTensor t;
      t.storage = static_cast<size_t>(c_.at(a[0]).i);
      t.offset = c_.intOf(a[1], "storage offset");
      t.sizes = ints(a[2], "size");
      t.strides = ints(a[3], "stride");
      checkView(t);
      const Id o = c_.make(Obj::Tensor);
      c_.at(o).i = static_cast<int64_t>(c_.tensors.size());
      c_.tensors.push_back(std::move(t));
      return o;
    }
    if (fn == "torch._utils._rebuild_parameter" || fn == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || c_.at(a[0]).kind != Obj::Tensor) c_.fail("malformed parameter");
      return a[0];
    }
    // Anything else would mean running arbitrary code from the file: never.
    throw Error(code::kInvalidData, c_.path + ": it holds a " + fn + " object; fvc reads state dicts and checkpoints of tensors only");
  }
  // The view (offset, sizes, strides) must lie inside its storage, computed without
  // overflow, and may not have more elements than the storage holds (a stride-0 view of
  // 2^28 elements over one float would otherwise allocate a gigabyte when copied).
  void checkView(const TorchSaveTensor& t) {
    const TorchSaveStorage& s = c_.storages[t.storage];
    const uint64_t held = s.numel;
    if (t.sizes.size() != t.strides.size())
      c_.fail("a tensor with " + std::to_string(t.sizes.size()) + " sizes but " + std::to_string(t.strides.size()) + " strides");
    if (t.offset < 0) c_.fail("a negative storage offset");
    int64_t numel = 1, last = t.offset;
    for (size_t k = 0; k < t.sizes.size(); ++k) {
      if (t.sizes[k] < 0 || t.strides[k] < 0) c_.fail("a negative size or stride");
      if (__builtin_mul_overflow(numel, t.sizes[k], &numel)) c_.fail("a tensor whose element count overflows");
    }
    if (numel > 0)
      for (size_t k = 0; k < t.sizes.size(); ++k) {
        int64_t span;
        if (__builtin_mul_overflow(t.sizes[k] - 1, t.strides[k], &span) || __builtin_add_overflow(last, span, &last))
          c_.fail("a tensor view whose extent overflows");
      }
    const bool inside = numel == 0 ? static_cast<uint64_t>(t.offset) <= held : static_cast<uint64_t>(last) < held;
    if (!inside || static_cast<uint64_t>(numel) > held)
      c_.fail("a tensor view of " + std::to_string(numel) + " elements at offset " + std::to_string(t.offset) + " does not fit its storage " + s.key +
              " of " + std::to_string(held) + " elements");
  }

  Context& c_;
  const char* p_;
  const char* end_;
  std::function<Id(Id)> storage_;
  std::vector<Id> stack_;
  std::unordered_map<int64_t, Id> memo_;
};

// The persistent id of a storage: ('storage', type, key, location, numel[, view]).
// Registers the storage on first sight; `fill` gives it its bytes (zip) or leaves them
// for later (legacy).
Id storageRef(Context& c, Id pid, const std::function<void(TorchSaveStorage&)>& fill) {
  const Obj& p = c.at(pid);
  if (p.kind != Obj::Tuple || p.items.size() < 5 || c.at(p.items[0]).s != "storage" || c.at(p.items[1]).kind != Obj::Global ||
      c.at(p.items[2]).kind != Obj::Str)
    c.fail("unexpected persistent id");
  if (p.items.size() > 5 && c.at(p.items[5]).kind != Obj::None) c.fail("storage views of PyTorch before 0.4 are not supported");
  const std::string& type = c.at(p.items[1]).s;
  const char* dtype = storageDtype(type);
  if (!dtype) throw Error(code::kInvalidData, c.path + ": storage type " + type + " is not supported");
  const std::string key = c.at(p.items[2]).s;
  const int64_t numel = c.intOf(p.items[4], "storage size");
  if (numel < 0) c.fail("storage " + key + " of negative size");
  auto it = c.storageByKey.find(key);
  size_t index;
  if (it != c.storageByKey.end()) {
    index = it->second;
    if (c.storages[index].dtype != dtype || c.storages[index].numel != static_cast<uint64_t>(numel))
      c.fail("storage " + key + " declared twice with another type or size");
  } else {
    TorchSaveStorage s;
    s.key = key;
    s.dtype = dtype;
    s.elementSize = safetensorsElementSize(dtype);
    s.numel = static_cast<uint64_t>(numel);
    index = c.storages.size();
    c.storageByKey[key] = index;
    c.storages.push_back(std::move(s));
    fill(c.storages[index]);
  }
  const Id o = c.make(Obj::Storage);
  c.at(o).i = static_cast<int64_t>(index);
  return o;
}

// Every dict of tensors reachable through dicts from the root, without recursion: each
// dict is visited once (a dict may be shared, or even hold itself), at most
// kMaxDictDepth deep. A key set twice keeps its last value, as Python's dict does.
void collect(Context& c, Id root, TorchSaveLayout& out) {
  if (c.at(root).kind != Obj::Dict) return;
  std::vector<std::tuple<Id, std::string, int>> todo{{root, "", 0}};
  std::set<Id> seen{root};
  while (!todo.empty()) {
    auto [id, prefix, depth] = std::move(todo.back());
    todo.pop_back();
    std::map<std::string, Id> last;
    const std::vector<Id>& kv = c.at(id).items;
    for (size_t k = 0; k + 1 < kv.size(); k += 2)
      if (c.at(kv[k]).kind == Obj::Str) last[c.at(kv[k]).s] = kv[k + 1];
    for (const auto& [key, v] : last) {
      const Obj& o = c.at(v);
      if (o.kind == Obj::Tensor) {
        out.dicts[prefix][key] = c.tensors[static_cast<size_t>(o.i)];
      } else if (o.kind == Obj::Dict && seen.insert(v).second) {
        if (depth + 1 > kMaxDictDepth) c.fail("dicts nested more than " + std::to_string(kMaxDictDepth) + " deep");
        todo.emplace_back(v, prefix.empty() ? key : prefix + "/" + key, depth + 1);
      }
    }
  }
}

// The legacy format's magic number, 0x1950a86a20f9469cfc6c, as pickle's LONG1 bytes.
const char kLegacyMagic[] = "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

}  // namespace

bool looksLikeTorchSave(std::string_view bytes) {
  const bool zip = bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4);
  const bool legacy = bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x80 && static_cast<unsigned char>(bytes[1]) <= 5;
  return zip || legacy;
}

TorchSaveLayout parseTorchSaveLayout(const std::string& path, std::string_view bytes) {
  Context c;
  c.path = path;
  Id root;
  if (bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
    const ZipArchive zip(path, bytes, "torch.save file");
    // Records live under one folder named for the archive: <name>/data.pkl, <name>/data/<key>.
    if (zip.entries().empty()) c.fail("an empty zip archive");
    const std::string& first = zip.entries().front().name;
    const std::string prefix = first.substr(0, first.find('/')) + "/";
    const ZipEntry* pkl = zip.find(prefix + "data.pkl");
    if (!pkl) throw Error(code::kInvalidData, path + ": a zip file without data.pkl, so not a torch.save file");
    if (const ZipEntry* order = zip.find(prefix + "byteorder"); order && zip.read(*order).bytes != "little")
      c.fail("its tensors are not little-endian");
    auto fill = [&](TorchSaveStorage& s) {
      const ZipEntry* e = zip.find(prefix + "data/" + s.key);
      if (!e) throw Error(code::kInvalidData, path + ": storage record data/" + s.key + " is missing (truncated?)");
      uint64_t need;
      if (__builtin_mul_overflow(s.numel, s.elementSize, &need) || e->size < need)
        throw Error(code::kInvalidData, path + ": storage data/" + s.key + " is shorter than its tensors (truncated?)");
      ZipData d = zip.read(*e);
      s.bytes = d.bytes.substr(0, need);
      s.owned = d.owned;
    };
    const ZipData pickle = zip.read(*pkl);
    root = Unpickler(c, pickle.bytes, [&](Id pid) { return storageRef(c, pid, fill); }).load();
  } else {
    // Legacy: five pickles in a row, then each storage as a little-endian element count and its bytes.
    std::string_view rest = bytes;
    auto next = [&](const std::function<Id(Id)>& storage) {
      Unpickler u(c, rest, storage);
      const Id r = u.load();
      rest.remove_prefix(static_cast<size_t>(u.position() - rest.data()));
      return r;
    };
    auto none = [&](Id) -> Id { c.fail("storage in a header"); };
    const Id magic = next(none);
    if (c.at(magic).kind != Obj::BigInt || c.at(magic).s != std::string(kLegacyMagic, 10))
      throw Error(code::kInvalidData, path + ": neither .safetensors nor a torch.save file");
    const Id version = next(none);
    if (c.at(version).kind != Obj::Int || c.at(version).i != 1001) c.fail("unknown legacy protocol version");
    next(none);  // system info
    root = next([&](Id pid) { return storageRef(c, pid, [](TorchSaveStorage&) {}); });
    const Id keys = next(none);
    if (c.at(keys).kind != Obj::List) c.fail("storage keys are not a list");
    std::set<size_t> filled;
    for (Id k : std::vector<Id>(c.at(keys).items)) {
      const std::string key = c.at(k).s;
      auto it = c.storageByKey.find(key);
      if (c.at(k).kind != Obj::Str || it == c.storageByKey.end()) c.fail("storage " + key + " listed but never used");
      if (!filled.insert(it->second).second) c.fail("storage " + key + " listed twice");
      TorchSaveStorage& s = c.storages[it->second];
      if (rest.size() < 8) throw Error(code::kInvalidData, path + ": truncated before storage " + key);
      uint64_t n = 0;
      for (int b = 8; b-- > 0;) n = (n << 8) | static_cast<uint8_t>(rest[b]);
      rest.remove_prefix(8);
      if (n != s.numel || n > (rest.size() / s.elementSize))
        throw Error(code::kInvalidData, path + ": storage " + key + " is truncated or has another size");
      s.bytes = rest.substr(0, n * s.elementSize);
      rest.remove_prefix(n * s.elementSize);
    }
    if (filled.size() != c.storages.size()) c.fail("a storage its tensors use has no data");
  }
  TorchSaveLayout out;
  collect(c, root, out);
  if (out.dicts.empty()) throw Error(code::kInvalidData, path + ": holds no dict of tensors, so not a state dict");
  out.storages = std::move(c.storages);
  return out;
}

}  // namespace fvc
