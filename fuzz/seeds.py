#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets: fuzz/corpus/<target>/seed-<hash>.

The seeds are the wire vectors our own tests already use (string literals of the parser,
engine, bus and client tests and of the bad-input suites), put into each target's input
layout, plus a few inputs per target for what no literal covers. Run it from anywhere; it
rewrites every seed-* file, so a seed removed here disappears there. Layouts are described in
socketio/src/fuzzing.rs: frames are separated by 0xff, a frame starting with `b` is binary,
any other frame is text after its first byte (`t` here).
"""

import hashlib
import re
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
SEP = b"\xff"

# Where each family of vectors lives.
ENGINE_SOURCES = [
    "socketio/src/engineio/packet.rs",
    "socketio/src/engineio/payload.rs",
    "tests/tests/engine/engine_bad_input.rs",
    "tests/tests/engine/engine_protocol.rs",
    "tests/tests/engine/engine_features.rs",
]
SOCKETIO_SOURCES = [
    "socketio/src/parser/tests/vectors.rs",
    "socketio/src/parser/tests/errors.rs",
    "socketio/src/parser/tests/binary.rs",
    "socketio/src/parser/tests/decoder.rs",
    "socketio/src/args/tests.rs",
    "tests/tests/server/socketio_bad_input.rs",
    "tests/tests/server/socketio_protocol.rs",
    "tests/tests/server/socketio_protocol_suite.rs",
]
BUS_SOURCES = ["socketio/src/manager/message.rs", "tests/tests/cluster/bad_input.rs"]
CLIENT_SOURCES = ["socketio/src/client/engine.rs", "tests/tests/client/client_bad_input.rs"]
QUERY_SOURCES = ["socketio/src/engineio/query.rs", "tests/tests/engine/engine_bad_input.rs"]
STATIC_SOURCES = ["socketio/src/engineio/static_files.rs"]
CORS_SOURCES = ["socketio/src/engineio/cors.rs"]

LITERAL = re.compile(
    r'(?P<raw>r(?P<hashes>#*)"(?P<rawbody>.*?)"(?P=hashes))'
    r'|(?P<byte>b?)"(?P<body>(?:[^"\\]|\\.|\\\n)*)"',
    re.S,
)
ESCAPE = re.compile(r'\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|\n\s*|.)', re.S)


def unescape(body):
    def one(match):
        code = match.group(1)
        if code.startswith("x"):
            return chr(int(code[1:], 16))
        if code.startswith("u{"):
            return chr(int(code[2:-1], 16))
        if code.startswith("\n"):
            return ""
        return {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}.get(
            code, code
        )

    return ESCAPE.sub(one, body)


def literals(sources):
    """Every string literal of the files, decoded, as bytes."""
    found = []
    for source in sources:
        path = ROOT / source
        if not path.exists():
            # A moved test file would otherwise leave its vectors out without a word.
            sys.exit(f"seeds: {source} is gone; update the source lists at the top")
        for match in LITERAL.finditer(path.read_text()):
            if match.group("raw"):
                text = match.group("rawbody")
            else:
                try:
                    text = unescape(match.group("body"))
                except (ValueError, OverflowError):
                    continue
            if 0 < len(text) <= 600:
                found.append(text.encode("utf-8", "surrogatepass"))
    return list(dict.fromkeys(found))


def text_frame(text):
    return b"t" + text


def binary_frame(data):
    return b"b" + data


def frames(*parts):
    return SEP.join(parts)


def attachments_of(packet):
    """How many attachments a binary Socket.IO packet announces (0 if it is not one)."""
    match = re.match(rb"^[56](\d{1,2})-", packet)
    return int(match.group(1)) if match else 0


def write(target, seeds):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("seed-*"):
        old.unlink()
    unique = list(dict.fromkeys(seeds))
    for seed in unique:
        name = "seed-" + hashlib.sha1(seed).hexdigest()[:16]
        (directory / name).write_bytes(seed)
    print(f"{target}: {len(unique)} seeds")


def main():
    engine = [l for l in literals(ENGINE_SOURCES) if re.match(rb"^[0-6b]", l)]
    engine += [b"2probe", b"3probe", b"5", b"6", b"1", b"4hello", b"bAQIDBA==", b"b"]
    socketio = [l for l in literals(SOCKETIO_SOURCES) if re.match(rb"^[0-6]", l)]
    socketio += [
        b'51-["hello",{"_placeholder":true,"num":0}]',
        b'62-/admin,7[{"_placeholder":true,"num":1},{"a":{"_placeholder":true,"num":0}}]',
        b'2/chat,12["echo",{"room":"a","text":"b","tags":["x"]},[1,2,3]]',
    ]
    bus = [l for l in literals(BUS_SOURCES) if l.lstrip().startswith(b"{") and b"method" in l]
    bus += [
        b'{"method":"emit","event":"e","data":[1,"a"],"namespace":"/","room":null,'
        b'"skip_sid":null,"callback":null,"host_id":"h1"}',
        b'{"method":"emit","event":"e","data":[["x",{"_placeholder":true,"num":0}],"AQID"],'
        b'"binary":true,"namespace":"/chat","room":["r1","r2"],"skip_sid":"s",'
        b'"callback":["sid","/chat",4],"host_id":"h1","except_rooms":["q"],"volatile":true}',
        b'{"method":"callback","host_id":"h","sid":"s","namespace":"/","id":1,"args":[1]}',
        b'{"method":"enter_room","sid":null,"rooms":["a"],"except_rooms":["b"],'
        b'"namespace":"/","room":"r","host_id":"h"}',
        b'{"method":"close_room","room":"r","namespace":"/","host_id":"h"}',
        b'{"method":"disconnect","sid":"s","namespace":"/","host_id":"h"}',
    ]

    write("engine_packet", [bytes([flag]) + p for p in engine for flag in (0, 1)])
    payloads = engine + [b"\x1e".join(engine[i : i + 3]) for i in range(0, len(engine), 3)]
    write("polling_payload", [bytes([cap]) + p for p in payloads for cap in (15, 255)])
    jsonp = [b"d=" + urllib.parse.quote(p.decode("utf-8", "replace")).encode() for p in payloads]
    write(
        "polling_post",
        [b"\x00" + p for p in payloads]
        + [b"\x01" + p for p in jsonp]
        + [b"\x02" + p for p in payloads[:20]]
        + [b"\x0c" + p for p in payloads[:20]],
    )
    write(
        "engine_ws_message",
        [text_frame(p) for p in engine]
        + [frames(text_frame(b"4a"), binary_frame(b"\x01\x02"), text_frame(b"2"), text_frame(b"1"))]
        + [frames(*(text_frame(p) for p in engine[i : i + 4])) for i in range(0, len(engine), 4)],
    )
    write("socketio_packet", [bytes([limits]) + p for p in socketio for limits in (0, 0xFF)])
    reassembly = []
    for packet in socketio:
        count = attachments_of(packet)
        parts = [text_frame(packet)] + [binary_frame(bytes([i]) * 3) for i in range(count)]
        reassembly.append(b"\x00" + frames(*parts))
    reassembly.append(b"\x00" + frames(*(text_frame(p) for p in socketio[:6])))
    write("socketio_binary_reassembly", reassembly)
    typed = [
        b'2["line",{"room":"a","text":"hi","tags":["x"],"reply_to":3}]',
        b'2["t","x",7,true]',
        b'51-["upload",{"name":"a.bin","data":{"_placeholder":true,"num":0}}]',
        b'2["shape",{"Circle":{"r":1.5}},{"kind":"Join","room":"r"}]',
        b'2["shape","Empty",{"kind":"Leave","room":"r","reason":"bye"}]',
        b'2["map",{"1":"a","02":"b"}]',
        b'2["arr",1,2,3,4]',
        b'2["chars","\\u00e9",340282366920938463463374607431768211455,-128]',
        b'3/chat,5[null,[1,[2,[3]]],{"a":{"b":1e3}}]',
    ]
    typed_inputs = []
    for packet in typed + [p for p in socketio if re.match(rb"^[2356]", p)]:
        count = attachments_of(packet)
        parts = [text_frame(packet)] + [binary_frame(b"\x00\xffdata"[: 4 + i]) for i in range(count)]
        typed_inputs.append(frames(*parts))
    write("typed_args", typed_inputs)
    write("bus_message", [bytes([limit]) + m for m in bus for limit in (255, 10)])

    queries = [l for l in literals(QUERY_SOURCES) if b"=" in l and b" " not in l]
    queries += [
        b"EIO=4&transport=polling",
        b"EIO=4&transport=websocket&sid=abc",
        b"EIO=4&EIO=4&transport=polling",
        b"EIO=4&transport=polling&j=0&t=a%20b+c&bad=%zz&end=%4",
        b"EIO=3&transport=polling",
        b"EIO=4&transport=polling&sid=x&sid=y",
    ]
    write("query_string", queries)

    write(
        "cookie_header",
        [
            bytes([flags]) + frames(name, sid, path, domain)
            for flags, name, sid, path, domain in [
                (0x07, b"io", b"abc", b"/", b""),
                (0x3F, b"sticky", b"s1d-xyz", b"/app", b"example.com"),
                (0x11, b"io", b"a;b", b"/", b"x"),
                (0x05, b"i o", b"abc", b"/", b""),
                (0x01, b"io", b"abc", b"/a;Secure", b""),
            ]
        ],
    )

    origins = [l for l in literals(CORS_SOURCES) if b"://" in l and b" " not in l]
    cors = []
    for flags in (0, 1, 2, 3, 4, 8, 0x10, 0x18):
        cors.append(bytes([flags]) + b"host:localhost:3000\norigin:http://localhost:3000")
        cors.append(
            bytes([flags])
            + b"host:internal\nx-forwarded-proto:https\nx-forwarded-host:public.example, other\n"
            + b"origin:https://public.example\naccess-control-request-headers:x-a"
        )
    for origin in origins[:20]:
        cors.append(b"\x00host:public.example\norigin:" + origin)
        cors.append(b"\x13host:a\norigin:" + origin)
    write("cors_headers", cors)

    rules = [
        (b"/", b"latency.html"),
        (b"/static", b"./public"),
        (b"/s/", b"./pub/"),
        (b"/cwd", b""),
        (b"/abs", b"/srv/www"),
    ]
    rule_frames = [text_frame(part) for rule in rules for part in rule]
    requests = [l for l in literals(STATIC_SOURCES) if l.startswith(b"/")]
    requests += [b"/static/../etc/passwd", b"/static/%2e%2e/x", b"/cwd/a/b", b"/s//x", b"/abs/x/"]
    write("static_path", [frames(*rule_frames, text_frame(r)) for r in requests])

    opens = [l for l in literals(CLIENT_SOURCES) if l.startswith(b"0{") or l.startswith(b"{")]
    opens = [o if o.startswith(b"0") else b"0" + o for o in opens]
    good = b'0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
    opens += [good, good + b'\x1e40{"sid":"x"}', good + b"\x1e6\x1e2", b"4hello"]
    write("client_open_packet", opens)

    server = [b"4" + p for p in socketio if re.match(rb"^[0-6]", p)]
    server += [b"2", b"6", b"3", b'40{"sid":"a"}', b'42["echo",1]', b'430["ack"]', b"41"]
    client_inputs = []
    for packet in server:
        count = attachments_of(packet[1:])
        parts = [text_frame(packet)] + [binary_frame(b"\x01\x02") for _ in range(count)]
        client_inputs.append(frames(*parts))
    client_inputs.append(
        frames(
            text_frame(b'42/chat,["echo",{"a":1}]'),
            text_frame(b'42/chat,7["typed","x",3]'),
            text_frame(b'451-/chat,["bin",{"_placeholder":true,"num":0}]'),
            binary_frame(b"\x00\x01"),
            text_frame(b"41/chat,"),
        )
    )
    write("client_server_packet", client_inputs)


if __name__ == "__main__":
    main()
