#!/usr/bin/python3
"""Read and write Registry.pol files with Samba's own NDR parser (python3-samba).

Used by the interop tests and the benchmark to compare Ascend's codec with Samba's.

  samba_preg.py read FILE [FILE...]
      One file: prints {"entries": [{"key", "value", "type", "size", "data_hex"}...]}.
      Several: prints {"files": [{"path", "entries"} | {"path", "error"}...]}.
      A file Samba cannot parse prints {"error": "..."} (one file) and exits 2.
  samba_preg.py write JSONFILE OUT
      JSONFILE holds {"entries": [{"key", "value", "type", "data_hex"}...]}; builds a
      preg.file from Samba's objects and writes ndr_pack() of it to OUT.
  samba_preg.py write-many JSONFILE
      JSONFILE holds {"files": [{"out", "entries"}...]}; writes each, prints
      {"files": [{"out", "ok"} | {"out", "error"}...]}.
  samba_preg.py bench FILE RUNS
      Times ndr_unpack of FILE and ndr_pack of the result RUNS times each, inside this
      process (interpreter start-up excluded); prints the times in ms as JSON.
  samba_preg.py serve FILE
      For interleaved benchmarks: loads FILE, prints "ready", then for each line on stdin
      "read" times one ndr_unpack, "readall" one ndr_unpack plus turning every entry into
      Python values (keyname, valuename, type, data), "write" one ndr_pack of the last
      unpacked file; each prints the time in ms. "quit" (or end of input) stops.

Raw data bytes. Samba's preg.entry.data is not always bytes: the IDL's union gives
  REG_NONE                   -> None (Samba drops any data bytes; size is kept in .size)
  REG_SZ, REG_EXPAND_SZ      -> str, the text up to the first NUL (terminator dropped)
  REG_DWORD                  -> int (read little-endian)
  REG_DWORD_BIG_ENDIAN       -> int (read big-endian)
  REG_QWORD                  -> int (read little-endian)
  REG_BINARY, REG_MULTI_SZ and every other type -> bytes, exactly as in the file.
For the decoded types `read` converts the value back to the bytes Samba would write:
text + one UTF-16 NUL, the 4 or 8 integer bytes in the type's byte order, or nothing for
REG_NONE. `size` is the size declared in the file, so a reader can tell when Samba's
view is lossy (len(data_hex) / 2 != size).
"""

import json
import struct
import sys
import time

from samba import ndr
from samba.dcerpc import misc, preg


def data_to_bytes(entry_type, data):
    """The bytes behind Samba's decoded view of an entry's data."""
    if data is None:
        return b''
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return (data + '\0').encode('utf-16-le')
    if isinstance(data, int):
        if entry_type == misc.REG_DWORD:
            return struct.pack('<I', data)
        if entry_type == misc.REG_DWORD_BIG_ENDIAN:
            return struct.pack('>I', data)
        if entry_type == misc.REG_QWORD:
            return struct.pack('<Q', data)
    raise ValueError('type %d: unexpected data of Python type %s' % (entry_type, type(data).__name__))


def bytes_to_data(entry_type, raw):
    """The Python value Samba's preg.entry.data wants for these raw bytes."""
    if entry_type in (misc.REG_SZ, misc.REG_EXPAND_SZ):
        text = raw.decode('utf-16-le', 'surrogatepass')
        if text.endswith('\0'):
            text = text[:-1]
        return text
    if entry_type == misc.REG_DWORD:
        return struct.unpack('<I', raw)[0]
    if entry_type == misc.REG_DWORD_BIG_ENDIAN:
        return struct.unpack('>I', raw)[0]
    if entry_type == misc.REG_QWORD:
        return struct.unpack('<Q', raw)[0]
    return raw


def entry_to_json(e):
    return {
        'key': e.keyname if e.keyname is not None else '',
        'value': e.valuename if e.valuename is not None else '',
        'type': e.type,
        'size': e.size,
        'data_hex': data_to_bytes(e.type, e.data).hex(),
    }


def read_file(path):
    with open(path, 'rb') as f:
        contents = f.read()
    pol = ndr.ndr_unpack(preg.file, contents)
    return [entry_to_json(e) for e in pol.entries]


def build_file(entries):
    pol = preg.file()
    pol.header.signature = 'PReg'
    pol.header.version = 1
    built = []
    for j in entries:
        e = preg.entry()
        e.keyname = j['key']
        e.valuename = j['value']
        e.type = j['type']
        raw = bytes.fromhex(j['data_hex'])
        if e.type != misc.REG_NONE:
            e.data = bytes_to_data(e.type, raw)
        elif raw:
            raise ValueError('REG_NONE with data cannot be built: Samba keeps no data for REG_NONE')
        built.append(e)
    pol.entries = built
    pol.num_entries = len(built)
    return ndr.ndr_pack(pol)


def write_file(entries, out):
    packed = build_file(entries)
    with open(out, 'wb') as f:
        f.write(packed)


def cmd_read(paths):
    if len(paths) == 1:
        try:
            entries = read_file(paths[0])
        except Exception as ex:  # Samba raises RuntimeError for NDR errors
            print(json.dumps({'error': str(ex)}))
            return 2
        print(json.dumps({'entries': entries}))
        return 0
    results = []
    for p in paths:
        try:
            results.append({'path': p, 'entries': read_file(p)})
        except Exception as ex:
            results.append({'path': p, 'error': str(ex)})
    print(json.dumps({'files': results}))
    return 0


def cmd_write(json_path, out):
    with open(json_path, 'r', encoding='utf-8') as f:
        spec = json.load(f)
    write_file(spec['entries'], out)
    return 0


def cmd_write_many(json_path):
    with open(json_path, 'r', encoding='utf-8') as f:
        spec = json.load(f)
    results = []
    for item in spec['files']:
        try:
            write_file(item['entries'], item['out'])
            results.append({'out': item['out'], 'ok': True})
        except Exception as ex:
            results.append({'out': item['out'], 'error': str(ex)})
    print(json.dumps({'files': results}))
    return 0


def cmd_bench(path, runs):
    with open(path, 'rb') as f:
        contents = f.read()
    pol = ndr.ndr_unpack(preg.file, contents)  # warm-up
    ndr.ndr_pack(pol)
    read_ms = []
    write_ms = []
    for _ in range(runs):
        pol = None  # free the previous parse outside the timed region
        t0 = time.perf_counter()
        pol = ndr.ndr_unpack(preg.file, contents)
        read_ms.append((time.perf_counter() - t0) * 1000)
    packed = b''
    for _ in range(runs):
        packed = None
        t0 = time.perf_counter()
        packed = ndr.ndr_pack(pol)
        write_ms.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({
        'bytes': len(contents),
        'entries': pol.num_entries,
        'read_ms': read_ms,
        'write_ms': write_ms,
        'write_identical': packed == contents,
    }))
    return 0


def cmd_serve(path):
    with open(path, 'rb') as f:
        contents = f.read()
    pol = ndr.ndr_unpack(preg.file, contents)
    packed = ndr.ndr_pack(pol)
    print('ready %d %d' % (pol.num_entries, 1 if packed == contents else 0), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == 'read':
            pol = None  # free the previous parse outside the timed region
            t0 = time.perf_counter()
            pol = ndr.ndr_unpack(preg.file, contents)
            ms = (time.perf_counter() - t0) * 1000
        elif cmd == 'readall':
            # what a Python consumer pays: unpack, then the entries as Python values
            pol = None
            t0 = time.perf_counter()
            pol = ndr.ndr_unpack(preg.file, contents)
            entries = [(e.keyname, e.valuename, e.type, e.data) for e in pol.entries]
            ms = (time.perf_counter() - t0) * 1000
            entries = None
        elif cmd == 'write':
            packed = None
            t0 = time.perf_counter()
            packed = ndr.ndr_pack(pol)
            ms = (time.perf_counter() - t0) * 1000
        elif cmd == 'quit':
            break
        else:
            print('error unknown command %r' % cmd, flush=True)
            continue
        print('%.6f' % ms, flush=True)
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == 'read':
        return cmd_read(argv[1:])
    if len(argv) == 3 and argv[0] == 'write':
        return cmd_write(argv[1], argv[2])
    if len(argv) == 2 and argv[0] == 'write-many':
        return cmd_write_many(argv[1])
    if len(argv) == 2 and argv[0] == 'serve':
        return cmd_serve(argv[1])
    if len(argv) == 3 and argv[0] == 'bench':
        return cmd_bench(argv[1], int(argv[2]))
    sys.stderr.write(__doc__)
    return 64


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
