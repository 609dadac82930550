//! The share listing: `NetrShareEnum` (level 1) of the server service, over the IPC$
//! share's `srvsvc` pipe, in DCE/RPC with NDR (the 32-bit transfer syntax every server
//! speaks; smb-rs's own share listing binds NDR64 only, which Samba refuses).
//! Each exchange is one FSCTL_PIPE_TRANSCEIVE (a write and its reply in one request).

use crate::conn::Conn;

const MAX_REPLY: u32 = 65_536;
/// srvsvc 3.0 (MS-SRVS).
const SRVSVC: ([u8; 16], u32) = (
    uuid(
        0x4b32_4fc8,
        0x1670,
        0x01d3,
        [0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88],
    ),
    3,
);
/// NDR 2.0 (the 32-bit transfer syntax).
const NDR32: ([u8; 16], u32) = (
    uuid(
        0x8a88_5d04,
        0x1ceb,
        0x11c9,
        [0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60],
    ),
    2,
);
const PTYPE_REQUEST: u8 = 0;
const PTYPE_RESPONSE: u8 = 2;
const PTYPE_BIND: u8 = 11;
const PTYPE_BIND_ACK: u8 = 12;
const OPNUM_NETR_SHARE_ENUM: u16 = 15;

const fn uuid(a: u32, b: u16, c: u16, d: [u8; 8]) -> [u8; 16] {
    let a = a.to_le_bytes();
    let (b, c) = (b.to_le_bytes(), c.to_le_bytes());
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6],
        d[7],
    ]
}

fn bad(why: &str) -> smb::Error {
    smb::Error::InvalidMessage(format!("share listing: {why}"))
}

/// The names of the server's shares, special ones included.
pub async fn share_names(c: &Conn, host: &str) -> smb::Result<Vec<String>> {
    let pipe = c.client.open_pipe(host, "srvsvc").await?;
    let result = async {
        let ack = transceive(&pipe, bind_pdu()).await?;
        check_bind_ack(&ack)?;
        let reply = transceive(&pipe, enum_pdu(host)).await?;
        parse_enum_reply(&reply)
    }
    .await;
    let _ = pipe.close().await;
    result
}

async fn transceive(pipe: &smb::Pipe, pdu: Vec<u8>) -> smb::Result<Vec<u8>> {
    let req = smb::PipeTransceiveRequest::from(smb::IoctlBuffer::from(pdu));
    let reply = pipe.fsctl_with_options(req, MAX_REPLY).await?;
    let bytes: &[u8] = reply.as_ref();
    Ok(bytes.to_vec())
}

fn header(ptype: u8, body_len: usize, call_id: u32) -> Vec<u8> {
    let mut h = vec![5, 0, ptype, 0x03, 0x10, 0, 0, 0];
    h.extend_from_slice(&((16 + body_len) as u16).to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes()); // no authentication
    h.extend_from_slice(&call_id.to_le_bytes());
    h
}

fn bind_pdu() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&4280u16.to_le_bytes()); // max_xmit_frag
    b.extend_from_slice(&4280u16.to_le_bytes()); // max_recv_frag
    b.extend_from_slice(&0u32.to_le_bytes()); // assoc_group_id
    b.extend_from_slice(&[1, 0, 0, 0]); // one context element
    b.extend_from_slice(&0u16.to_le_bytes()); // context id
    b.extend_from_slice(&[1, 0]); // one transfer syntax
    for (id, version) in [SRVSVC, NDR32] {
        b.extend_from_slice(&id);
        b.extend_from_slice(&version.to_le_bytes());
    }
    let mut pdu = header(PTYPE_BIND, b.len(), 1);
    pdu.extend_from_slice(&b);
    pdu
}

fn check_bind_ack(ack: &[u8]) -> smb::Result<()> {
    if ack.len() < 26 || ack[2] != PTYPE_BIND_ACK {
        return Err(bad("the server did not accept the srvsvc binding"));
    }
    // After the header and frag sizes/assoc group: the secondary address, then results.
    let sec_len = u16::from_le_bytes([ack[24], ack[25]]) as usize;
    let at = (26 + sec_len).div_ceil(4) * 4;
    let result = ack
        .get(at + 4..at + 6)
        .ok_or_else(|| bad("short bind ack"))?;
    if result != [0, 0] {
        return Err(bad("the server refused NDR for srvsvc"));
    }
    Ok(())
}

/// NDR for a `[string, unique] wchar_t*`: referent, conformance, offset, count, chars.
fn put_string(b: &mut Vec<u8>, referent: u32, s: &str) {
    let wide: Vec<u16> = s.encode_utf16().chain([0]).collect();
    b.extend_from_slice(&referent.to_le_bytes());
    for n in [wide.len() as u32, 0, wide.len() as u32] {
        b.extend_from_slice(&n.to_le_bytes());
    }
    for w in wide {
        b.extend_from_slice(&w.to_le_bytes());
    }
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
}

fn enum_pdu(host: &str) -> Vec<u8> {
    let mut stub = Vec::new();
    put_string(&mut stub, 0x0002_0000, &format!("\\\\{host}"));
    for v in [
        1u32,        // InfoStruct.Level
        1,           // union switch: level 1
        0x0002_0004, // -> SHARE_INFO_1_CONTAINER
        0,           // EntriesRead
        0,           // Buffer: null
        u32::MAX,    // PreferedMaximumLength: everything
        0x0002_0008, // -> ResumeHandle
        0,           // ResumeHandle
    ] {
        stub.extend_from_slice(&v.to_le_bytes());
    }
    let mut body = Vec::new();
    body.extend_from_slice(&(stub.len() as u32).to_le_bytes()); // alloc hint
    body.extend_from_slice(&0u16.to_le_bytes()); // context id
    body.extend_from_slice(&OPNUM_NETR_SHARE_ENUM.to_le_bytes());
    body.extend_from_slice(&stub);
    let mut pdu = header(PTYPE_REQUEST, body.len(), 2);
    pdu.extend_from_slice(&body);
    pdu
}

/// A little-endian reader over NDR.
struct Ndr<'a> {
    b: &'a [u8],
    at: usize,
}

impl Ndr<'_> {
    fn u32(&mut self) -> smb::Result<u32> {
        let v = self
            .b
            .get(self.at..self.at + 4)
            .ok_or_else(|| bad("the reply is cut short"))?;
        self.at += 4;
        Ok(u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
    }

    /// A conformant varying string (after its referent).
    fn string(&mut self) -> smb::Result<String> {
        let (_max, _offset, count) = (self.u32()?, self.u32()?, self.u32()? as usize);
        let bytes = self
            .b
            .get(self.at..self.at + 2 * count)
            .ok_or_else(|| bad("a share name is cut short"))?;
        self.at = (self.at + 2 * count).div_ceil(4) * 4;
        let wide: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&w| w != 0)
            .collect();
        String::from_utf16(&wide).map_err(|_| bad("a share name is not UTF-16"))
    }
}

fn parse_enum_reply(pdu: &[u8]) -> smb::Result<Vec<String>> {
    if pdu.len() < 24 || pdu[2] != PTYPE_RESPONSE {
        return Err(bad("the server answered NetrShareEnum with a fault"));
    }
    if pdu[3] & 0x02 == 0 {
        return Err(bad("the share list needs more than one reply fragment"));
    }
    let mut r = Ndr { b: pdu, at: 24 };
    let (_level, _switch, container) = (r.u32()?, r.u32()?, r.u32()?);
    if container == 0 {
        return Ok(Vec::new());
    }
    let (count, buffer) = (r.u32()? as usize, r.u32()?);
    if buffer == 0 || count == 0 {
        return Ok(Vec::new());
    }
    if r.u32()? as usize != count {
        return Err(bad("the share count doesn't match its array"));
    }
    let mut pointers = Vec::with_capacity(count.min(4096));
    for _ in 0..count {
        let (name, _kind, remark) = (r.u32()?, r.u32()?, r.u32()?);
        pointers.push((name, remark));
    }
    let mut names = Vec::with_capacity(pointers.len());
    for (name, remark) in pointers {
        if name != 0 {
            names.push(r.string()?);
        }
        if remark != 0 {
            r.string()?;
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_well_formed_and_replies_read() {
        let bind = bind_pdu();
        assert_eq!(u16::from_le_bytes([bind[8], bind[9]]) as usize, bind.len());
        assert_eq!(bind.len(), 72);
        let req = enum_pdu("h");
        assert_eq!(u16::from_le_bytes([req[8], req[9]]) as usize, req.len());
        assert!(req.len().is_multiple_of(4));
        // A reply with two shares: "ab" (remark "r") and "IPC$" (no remark).
        let mut stub = Vec::new();
        for v in [
            1u32, 1, 0x20000, 2, 0x20004, 2, 0x20008, 0, 0x2000c, 0x20010, 3, 0,
        ] {
            stub.extend_from_slice(&v.to_le_bytes());
        }
        for s in ["ab", "r", "IPC$"] {
            let w: Vec<u16> = s.encode_utf16().chain([0]).collect();
            for n in [w.len() as u32, 0, w.len() as u32] {
                stub.extend_from_slice(&n.to_le_bytes());
            }
            w.iter()
                .for_each(|c| stub.extend_from_slice(&c.to_le_bytes()));
            while !stub.len().is_multiple_of(4) {
                stub.push(0);
            }
        }
        let mut pdu = header(PTYPE_RESPONSE, 8 + stub.len(), 2);
        pdu.extend_from_slice(&[0; 8]);
        pdu.extend_from_slice(&stub);
        assert_eq!(parse_enum_reply(&pdu).unwrap(), ["ab", "IPC$"]);
        pdu[2] = 3; // a fault
        assert!(parse_enum_reply(&pdu).is_err());
    }
}
