//! TDS packet framing (MS-TDS 2.2.3): an 8-byte header, messages split over packets and
//! ended by the EOM status bit.

use super::ProtocolError;

pub const HEADER_LEN: usize = 8;
/// The largest packet size a client may negotiate (MS-TDS: 512..=32767).
pub const MAX_PACKET_SIZE: usize = 32767;
pub const MIN_PACKET_SIZE: usize = 512;
pub const DEFAULT_PACKET_SIZE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PacketType {
    SqlBatch = 0x01,
    Rpc = 0x03,
    TabularResult = 0x04,
    Attention = 0x06,
    BulkLoad = 0x07,
    TransactionManager = 0x0E,
    Login7 = 0x10,
    Sspi = 0x11,
    PreLogin = 0x12,
}

impl PacketType {
    pub fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            0x01 => Self::SqlBatch,
            0x03 => Self::Rpc,
            0x04 => Self::TabularResult,
            0x06 => Self::Attention,
            0x07 => Self::BulkLoad,
            0x0E => Self::TransactionManager,
            0x10 => Self::Login7,
            0x11 => Self::Sspi,
            0x12 => Self::PreLogin,
            _ => return None,
        })
    }
}

pub const STATUS_EOM: u8 = 0x01;
// The status bits the spec defines; the emulator acts on EOM and reads the rest as given.
#[allow(dead_code)]
pub const STATUS_IGNORE: u8 = 0x02;
#[allow(dead_code)]
pub const STATUS_RESET_CONNECTION: u8 = 0x08;
#[allow(dead_code)]
pub const STATUS_RESET_CONNECTION_SKIP_TRAN: u8 = 0x10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketHeader {
    pub ty: u8,
    pub status: u8,
    pub length: usize,
    pub spid: u16,
    pub packet_id: u8,
}

impl PacketHeader {
    /// Decodes a header and checks that its length is possible.
    pub fn decode(b: &[u8]) -> Result<Self, ProtocolError> {
        if b.len() < HEADER_LEN {
            return Err(ProtocolError::Truncated("packet header"));
        }
        let length = u16::from_be_bytes([b[2], b[3]]) as usize;
        if !(HEADER_LEN..=MAX_PACKET_SIZE).contains(&length) {
            return Err(ProtocolError::BadPacketLength(length));
        }
        Ok(PacketHeader {
            ty: b[0],
            status: b[1],
            length,
            spid: u16::from_be_bytes([b[4], b[5]]),
            packet_id: b[6],
        })
    }

    pub fn is_eom(&self) -> bool {
        self.status & STATUS_EOM != 0
    }
}

/// A whole message: the payloads of its packets, concatenated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub ty: u8,
    pub status: u8,
    pub payload: Vec<u8>,
}

/// Accumulates packets into messages. `limit` bounds a message's size so a hostile client
/// cannot make the server buffer without end.
#[derive(Debug)]
pub struct MessageAssembler {
    limit: usize,
    current: Option<Message>,
}

impl MessageAssembler {
    pub fn new(limit: usize) -> Self {
        MessageAssembler {
            limit,
            current: None,
        }
    }

    /// Takes one complete packet (header included). Returns the message when this packet
    /// ends it.
    pub fn push(&mut self, packet: &[u8]) -> Result<Option<Message>, ProtocolError> {
        let h = PacketHeader::decode(packet)?;
        if packet.len() != h.length {
            return Err(ProtocolError::Truncated("packet"));
        }
        let body = &packet[HEADER_LEN..];
        let msg = self.current.get_or_insert_with(|| Message {
            ty: h.ty,
            status: h.status,
            payload: Vec::new(),
        });
        if msg.ty != h.ty && h.ty != PacketType::Attention as u8 {
            return Err(super::invalid(
                "packet sequence",
                format!("type {:#04x} inside a {:#04x} message", h.ty, msg.ty),
            ));
        }
        if msg.payload.len() + body.len() > self.limit {
            return Err(ProtocolError::MessageTooLarge(self.limit));
        }
        msg.payload.extend_from_slice(body);
        if h.is_eom() {
            Ok(self.current.take())
        } else {
            Ok(None)
        }
    }
}

/// Splits a message into packets of at most `packet_size` bytes, header included.
pub fn encode_message(ty: PacketType, payload: &[u8], packet_size: usize, out: &mut Vec<u8>) {
    let chunk = packet_size.clamp(MIN_PACKET_SIZE, MAX_PACKET_SIZE) - HEADER_LEN;
    let mut id: u8 = 1;
    let mut chunks = payload.chunks(chunk).peekable();
    if payload.is_empty() {
        out.extend_from_slice(&[ty as u8, STATUS_EOM, 0, 8, 0, 0, 1, 0]);
        return;
    }
    while let Some(c) = chunks.next() {
        let last = chunks.peek().is_none();
        let len = (c.len() + HEADER_LEN) as u16;
        out.push(ty as u8);
        out.push(if last { STATUS_EOM } else { 0 });
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&[0, 0]); // SPID: filled by the session if it cares
        out.push(id);
        out.push(0);
        out.extend_from_slice(c);
        id = id.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_through_small_packets() {
        let payload: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let mut wire = Vec::new();
        encode_message(PacketType::TabularResult, &payload, 512, &mut wire);
        let mut asm = MessageAssembler::new(1 << 20);
        let mut pos = 0;
        let mut got = None;
        while pos < wire.len() {
            let h = PacketHeader::decode(&wire[pos..]).unwrap();
            assert!(h.length <= 512);
            got = asm.push(&wire[pos..pos + h.length]).unwrap();
            pos += h.length;
        }
        assert_eq!(got.unwrap().payload, payload);
    }

    #[test]
    fn absurd_lengths_are_rejected() {
        assert_eq!(
            PacketHeader::decode(&[1, 1, 0, 3, 0, 0, 0, 0]),
            Err(ProtocolError::BadPacketLength(3))
        );
        assert_eq!(
            PacketHeader::decode(&[1, 1, 0xff, 0xff, 0, 0, 0, 0]),
            Err(ProtocolError::BadPacketLength(65535))
        );
        assert!(PacketHeader::decode(&[1, 1]).is_err());
    }

    #[test]
    fn a_message_over_the_limit_is_refused() {
        let mut asm = MessageAssembler::new(10);
        let mut wire = Vec::new();
        encode_message(PacketType::SqlBatch, &[0u8; 20], 512, &mut wire);
        assert_eq!(asm.push(&wire), Err(ProtocolError::MessageTooLarge(10)));
    }
}
