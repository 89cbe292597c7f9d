"""Hostile torch.save files for test/hostile.test.ts, generated rather than committed.

    /usr/bin/python3 test/hostile_pth.py OUT_DIR

Writes naive_cnn's weights three legitimate ways (torch.save's zip, the same zip
re-compressed with deflate, the legacy stream) and one file per hostile case of issue 31
(storage offsets that overflow, deep nesting, decompression and allocation bombs, lying
sizes, a damaged byte, a legacy storage without data). Every hostile pickle is built
with Python's own pickler or by hand, never loaded here.
"""
import collections
import io
import os
import pickle
import struct
import sys
import zipfile

import torch
from naive_cnn_reference import naive_features
from torch import nn

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)


def path(name):
    return os.path.join(out, name)


class NaiveCnn(nn.Module):
    """fvc's naive_cnn (cpp/torch/naive_cnn.cpp), for its parameter names and shapes."""

    def __init__(self):
        super().__init__()
        self.features = naive_features()
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(256, 2)


state = NaiveCnn().state_dict()
torch.save(state, path('naive.pth'))
torch.save(state, path('naive_legacy.pth'), _use_new_zipfile_serialization=False)
with zipfile.ZipFile(path('naive.pth')) as src, zipfile.ZipFile(path('naive_deflated.pth'), 'w', zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))

# One byte of one storage flipped: the zip's CRC-32 no longer matches.
data = bytearray(open(path('naive.pth'), 'rb').read())
with zipfile.ZipFile(path('naive.pth')) as z:
    info = z.getinfo(next(n for n in z.namelist() if '/data/' in n))
    header = info.header_offset
    name_len, extra_len = struct.unpack('<HH', data[header + 26:header + 30])
    data[header + 30 + name_len + extra_len + 5] ^= 0x10
open(path('crc.pth'), 'wb').write(bytes(data))

# A pickler whose storages and tensors say what the test wants them to say.


class Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return ('storage', torch.FloatStorage, obj.key, 'cpu', obj.numel) if isinstance(obj, Storage) else None


def pickled(obj):
    b = io.BytesIO()
    Pickler(b, protocol=2).dump(obj)
    return b.getvalue()


def zip_pth(name, pkl, records=None, method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path(name), 'w', method) as z:
        z.writestr('archive/data.pkl', pkl)
        for key, payload in (records or {}).items():
            z.writestr(f'archive/data/{key}', payload)
        z.writestr('archive/version', '3\n')


four = struct.pack('<4f', 1, 2, 3, 4)
for name, offset in (('offset_62_40.pth', 2**62 - 2**40), ('offset_62_20.pth', 2**62 - 2**20), ('offset_wide.pth', 2**64)):
    zip_pth(name, pickled({'w': Tensor(Storage('0', 4), offset, (4,), (1,))}), {'0': four})
zip_pth('extent.pth', pickled({'w': Tensor(Storage('0', 4), 0, (2**40, 2**40), (1, 1))}), {'0': four})
zip_pth('stride0.pth', pickled({'w': Tensor(Storage('0', 1), 0, (2**28,), (0,))}), {'0': four[:4]})
zip_pth('past_end.pth', pickled({'w': Tensor(Storage('0', 4), 1, (4,), (1,))}), {'0': four})

# Deep nesting, built opcode by opcode (Python's pickler would recurse itself).
PROTO, STOP = b'\x80\x02', b'.'


def unicode(s):
    return b'X' + struct.pack('<I', len(s)) + s.encode()


for n in (300_000, 1_000_000):
    zip_pth(f'lists_{n}.pth', PROTO + b']' * n + b'a' * (n - 1) + STOP)
n = 100_000
zip_pth('dicts_100000.pth', PROTO + (b'}' + unicode('k')) * n + b'}' + b's' * n + STOP)
# The same depth through the memo, with a stack that never grows: d[i]['k'] = d[i+1].
chain = [b'j' + struct.pack('<I', i) + unicode('k') + b'}r' + struct.pack('<I', i + 1) + b'sb' for i in range(n)]
zip_pth('dict_chain.pth', PROTO + b'}r' + struct.pack('<I', 0) + b''.join(chain) + STOP)
# A dict that holds itself, beside one tensor.
zip_pth('self_dict.pth', PROTO + b'}r\0\0\0\0' + unicode('self') + b'j\0\0\0\0s' + unicode('w') + pickled(Tensor(Storage('0', 4), 0, (4,), (1,)))[2:-1] + b's' + STOP, {'0': four})

# Bombs: 2^28 NONE opcodes deflated to a few hundred KB; 1 GiB of zeros deflated to ~1 MB.
zip_pth('none_bomb.pth', PROTO + b'N' * 2**28 + STOP, method=zipfile.ZIP_DEFLATED)
with zipfile.ZipFile(path('deflate_bomb.pth'), 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('archive/data.pkl', pickled({'w': Tensor(Storage('0', 2**28), 0, (2**28,), (1,))}))
    with z.open('archive/data/0', 'w', force_zip64=True) as f:
        chunk = bytes(1 << 22)
        for _ in range(256):
            f.write(chunk)

# A deflated data.pkl whose declared size is smaller than what it inflates to.
zip_pth('lying.pth', pickled({'w': Tensor(Storage('0', 4), 0, (4,), (1,))}) + b'N' * 4096, {'0': four}, zipfile.ZIP_DEFLATED)
data = bytearray(open(path('lying.pth'), 'rb').read())
with zipfile.ZipFile(path('lying.pth')) as z:
    info = z.getinfo('archive/data.pkl')
central = data.find(b'PK\x01\x02')  # data.pkl's entry comes first
for at in (info.header_offset + 22, central + 24):  # uncompressed size, local and central
    data[at:at + 4] = struct.pack('<I', 64)
open(path('lying.pth'), 'wb').write(bytes(data))

# Legacy streams: a storage declaring 2^40 elements over 16 bytes, and one given no data.
def legacy(name, obj, keys, storages):
    b = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {'protocol_version': 1001, 'little_endian': True}):
        pickle.dump(header, b, protocol=2)
    Pickler(b, protocol=2).dump(obj)
    pickle.dump(keys, b, protocol=2)
    for numel, payload in storages:
        b.write(struct.pack('<q', numel) + payload)
    open(path(name), 'wb').write(b.getvalue())


legacy('legacy_huge.pth', {'w': Tensor(Storage('0', 2**40), 0, (4,), (1,))}, ['0'], [(2**40, four)])
legacy('legacy_nodata.pth', {'w': Tensor(Storage('0', 4), 0, (4,), (1,))}, [], [])
