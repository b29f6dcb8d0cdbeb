//! A byte stream in a declared encoding, as UTF-8. Bytes that are not valid in that encoding are an
//! error naming their offset, never replaced: a file that declares UTF-8 but is ISO-8859-15 is
//! rejected, not imported with broken umlauts.

use std::io::{self, BufRead, Read};

use encoding_rs::{DecoderResult, Encoding};

pub struct Utf8<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    out: Box<[u8]>,
    start: usize,
    end: usize,
    /// Input bytes decoded so far.
    consumed: u64,
    done: bool,
}

impl<R: BufRead> Utf8<R> {
    pub fn new(inner: R, encoding: &'static Encoding) -> Self {
        Self {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            out: vec![0; 64 * 1024].into_boxed_slice(),
            start: 0,
            end: 0,
            consumed: 0,
            done: false,
        }
    }

    fn malformed(&self, at: u64) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "Byte {at} ist in der erklärten Zeichenkodierung {} ungültig: die XML-Deklaration \
                 nennt eine andere Kodierung, als die Datei hat",
                self.decoder.encoding().name()
            ),
        )
    }
}

impl<R: BufRead> BufRead for Utf8<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.start == self.end && !self.done {
            let src = self.inner.fill_buf()?;
            let last = src.is_empty();
            let (result, read, written) =
                self.decoder.decode_to_utf8_without_replacement(src, &mut self.out, last);
            let at = self.consumed + read as u64;
            self.inner.consume(read);
            self.consumed += read as u64;
            self.start = 0;
            self.end = written;
            match result {
                DecoderResult::Malformed(bad, extra) => {
                    return Err(self.malformed(at - u64::from(bad) - u64::from(extra)));
                }
                DecoderResult::InputEmpty if last => self.done = true,
                DecoderResult::InputEmpty | DecoderResult::OutputFull => {}
            }
        }
        Ok(&self.out[self.start..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.start = (self.start + amount).min(self.end);
    }
}

impl<R: BufRead> Read for Utf8<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// The encoding an XML file declares in its first bytes (`<?xml … encoding="…"?>`), after a byte
/// order mark if there is one; UTF-8 when it declares none. `Err` names a label no decoder knows.
pub fn declared_encoding(head: &[u8]) -> Result<(&'static Encoding, usize), String> {
    if let Some((encoding, bom)) = Encoding::for_bom(head) {
        return Ok((encoding, bom));
    }
    let text = String::from_utf8_lossy(&head[..head.len().min(512)]);
    let Some(decl) = text.strip_prefix("<?xml").and_then(|rest| rest.split("?>").next()) else {
        return Ok((encoding_rs::UTF_8, 0));
    };
    let Some(at) = decl.find("encoding") else { return Ok((encoding_rs::UTF_8, 0)) };
    let rest = decl[at + "encoding".len()..].trim_start().trim_start_matches('=').trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
    let label = match quote {
        Some(q) => rest[1..].split(q).next().unwrap_or_default(),
        None => "",
    };
    match Encoding::for_label(label.trim().as_bytes()) {
        // UTF-16 files have a byte order mark (handled above); a declaration read as ASCII cannot be one.
        Some(encoding) if encoding.is_ascii_compatible() => Ok((encoding, 0)),
        _ => Err(format!("unbekannte Zeichenkodierung „{label}“ in der XML-Deklaration")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> io::Result<String> {
        let (encoding, bom) = declared_encoding(bytes).map_err(io::Error::other)?;
        let mut out = String::new();
        Utf8::new(io::BufReader::with_capacity(3, &bytes[bom..]), encoding).read_to_string(&mut out)?;
        Ok(out)
    }

    #[test]
    fn latin9_becomes_utf8_and_a_wrong_declaration_is_refused() {
        let latin9 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?><T>Schwei\xdfen \xa4</T>";
        assert_eq!(
            decode(latin9).expect("decodes"),
            "<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?><T>Schweißen €</T>"
        );
        let lying = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><T>Schwei\xdfen</T>";
        let err = decode(lying).expect_err("not UTF-8");
        assert!(err.to_string().contains("Byte 47"), "{err}");
        assert!(decode(b"<?xml version=\"1.0\" encoding=\"KLINGON\"?><T/>").is_err());
        assert_eq!(decode("<T>ä</T>".as_bytes()).expect("no declaration: UTF-8"), "<T>ä</T>");
    }
}
