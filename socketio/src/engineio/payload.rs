//! Long-polling payloads: several packets in one HTTP body, separated by the record
//! separator `\x1e`.

use bytes::{BufMut, Bytes, BytesMut};

use super::packet::{Frame, Packet, PacketError};

/// Separates packets inside a long-polling body.
pub(crate) const SEPARATOR: u8 = 0x1e;

/// Most packets sent in one GET response, and the default cap on packets in one POST.
/// python-engineio refuses more than 16 in either direction, so this is what every client
/// can take.
pub(crate) const MAX_PACKETS: usize = 16;

/// Why a long-polling body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PayloadError {
    #[error("payload holds more than {0} packets")]
    TooManyPackets(usize),
    #[error("packet {index} of the payload: {source}")]
    Packet { index: usize, source: PacketError },
}

/// Splits a POST body into at most `max_packets` packets.
pub(crate) fn decode(body: Bytes, max_packets: usize) -> Result<Vec<Packet>, PayloadError> {
    let count = body.iter().filter(|&&b| b == SEPARATOR).count() + 1;
    if count > max_packets {
        return Err(PayloadError::TooManyPackets(max_packets));
    }
    let mut packets = Vec::with_capacity(count);
    let mut rest = body;
    for index in 0..count {
        let segment = match rest.iter().position(|&b| b == SEPARATOR) {
            Some(end) => {
                let segment = rest.split_to(end);
                rest = rest.slice(1..);
                segment
            }
            None => std::mem::take(&mut rest),
        };
        let packet = Packet::decode_text_bytes(segment, true)
            .map_err(|source| PayloadError::Packet { index, source })?;
        packets.push(packet);
    }
    Ok(packets)
}

/// Joins frames into one GET response body.
pub(crate) fn encode(frames: &[Frame]) -> Bytes {
    let len = frames.iter().map(Frame::polling_len).sum::<usize>() + frames.len();
    let mut out = BytesMut::with_capacity(len);
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            out.put_u8(SEPARATOR);
        }
        frame.write_polling(&mut out);
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::str::Str;
    use proptest::prelude::*;

    #[test]
    fn decodes_text_and_binary() {
        let packets = decode(Bytes::from_static(b"4hello\x1ebAQIDBA==\x1e3"), MAX_PACKETS).unwrap();
        assert_eq!(
            packets,
            vec![
                Packet::Message(Str::from("hello")),
                Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
                Packet::Pong(Str::default()),
            ]
        );
    }

    #[test]
    fn encodes_exact_bytes() {
        let frames = [
            Frame::message("test1"),
            Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            Frame::PING,
        ];
        assert_eq!(&encode(&frames)[..], b"4test1\x1ebAQIDBA==\x1e2");
        assert_eq!(&encode(&[])[..], b"");
    }

    #[test]
    fn limits_and_errors() {
        let sixteen = vec!["4x"; 16].join("\x1e");
        assert_eq!(decode(Bytes::from(sixteen), MAX_PACKETS).unwrap().len(), 16);
        let seventeen = vec!["4x"; 17].join("\x1e");
        assert_eq!(
            decode(Bytes::from(seventeen), MAX_PACKETS),
            Err(PayloadError::TooManyPackets(16))
        );
        assert_eq!(
            decode(Bytes::from_static(b"4a\x1e"), MAX_PACKETS),
            Err(PayloadError::Packet {
                index: 1,
                source: PacketError::Empty
            })
        );
        assert_eq!(
            decode(Bytes::from_static(b""), MAX_PACKETS),
            Err(PayloadError::Packet {
                index: 0,
                source: PacketError::Empty
            })
        );
    }

    proptest! {
        #[test]
        fn round_trip(texts in proptest::collection::vec("[^\x1e]*", 1..=16),
                      binaries in proptest::collection::vec(any::<Vec<u8>>(), 0..4)) {
            let mut packets: Vec<Packet> =
                texts.into_iter().map(|t| Packet::Message(Str::from(t))).collect();
            for b in binaries {
                if packets.len() < MAX_PACKETS {
                    packets.push(Packet::Binary(b.into()));
                }
            }
            let frames: Vec<Frame> = packets.iter().map(Packet::encode).collect();
            prop_assert_eq!(decode(encode(&frames), MAX_PACKETS).unwrap(), packets);
        }

        #[test]
        fn decoding_never_panics(body in any::<Vec<u8>>()) {
            let _ = decode(body.into(), MAX_PACKETS);
        }
    }
}
