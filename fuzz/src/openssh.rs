//! OpenSSH user certificates written from PROTOCOL.certkeys, as `ssh-keygen -s` lays them
//! out, and standard base64: the other side of what `cage::grant::cert` reads.

/// The fields of a certificate, in the order of the blob.
#[derive(Debug, Clone, Default)]
pub struct Cert {
    pub key_type: String,
    pub nonce: Vec<u8>,
    /// The public key's own fields (one for ed25519, two for rsa...).
    pub key: Vec<Vec<u8>>,
    pub serial: u64,
    pub cert_type: u32,
    pub key_id: String,
    pub principals: Vec<String>,
    pub valid_after: u64,
    pub valid_before: u64,
    pub critical_options: Vec<u8>,
    /// Name and data of each extension; data is a string inside the string, or empty.
    pub extensions: Vec<(String, Option<String>)>,
    pub reserved: Vec<u8>,
    pub signature_key: Vec<u8>,
    pub signature: Vec<u8>,
}

/// How many key fields a certificate type carries before its serial.
pub const KEY_FIELDS: &[(&str, usize)] = &[
    ("ssh-ed25519-cert-v01@openssh.com", 1),
    ("ssh-rsa-cert-v01@openssh.com", 2),
    ("sk-ssh-ed25519-cert-v01@openssh.com", 2),
    ("sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", 3),
    ("ssh-dss-cert-v01@openssh.com", 4),
    ("ecdsa-sha2-nistp256-cert-v01@openssh.com", 2),
    ("ecdsa-sha2-nistp384-cert-v01@openssh.com", 2),
    ("ecdsa-sha2-nistp521-cert-v01@openssh.com", 2),
];

impl Cert {
    pub fn blob(&self) -> Vec<u8> {
        let mut out = Vec::new();
        string(&mut out, self.key_type.as_bytes());
        string(&mut out, &self.nonce);
        for field in &self.key {
            string(&mut out, field);
        }
        out.extend_from_slice(&self.serial.to_be_bytes());
        out.extend_from_slice(&self.cert_type.to_be_bytes());
        string(&mut out, self.key_id.as_bytes());
        let mut principals = Vec::new();
        for p in &self.principals {
            string(&mut principals, p.as_bytes());
        }
        string(&mut out, &principals);
        out.extend_from_slice(&self.valid_after.to_be_bytes());
        out.extend_from_slice(&self.valid_before.to_be_bytes());
        string(&mut out, &self.critical_options);
        let mut extensions = Vec::new();
        for (name, data) in &self.extensions {
            string(&mut extensions, name.as_bytes());
            let mut inner = Vec::new();
            if let Some(data) = data {
                string(&mut inner, data.as_bytes());
            }
            string(&mut extensions, &inner);
        }
        string(&mut out, &extensions);
        string(&mut out, &self.reserved);
        string(&mut out, &self.signature_key);
        string(&mut out, &self.signature);
        out
    }
}

/// An SSH `string`: a big-endian u32 length, then the bytes.
fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Standard base64 with `=` padding (RFC 4648, section 4).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            match i <= chunk.len() {
                true => out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize])),
                false => out.push('='),
            }
        }
    }
    out
}
