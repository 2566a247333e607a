//! The fast reader of an input file: big chunks of UTF-8 text, each line split on its commas by hand. It
//! reads only the plain lines the platform's exports and most tools write; at the first line that needs the
//! csv crate (or text that is not UTF-8) it stops, and the caller reads the file again from its start with
//! [`super::table::Table`], so such a file gives exactly the totals and messages it always did.
use super::table::{Header, Rows};
use std::io::Read;

/// Bytes read from the file at a time (more only for a longer line).
const CHUNK: usize = 1 << 18;

/// A CSV file read line by line, in chunks, for lines with no quote: memory stays in proportion to a chunk.
pub(super) struct Lines<R> {
    header: Header,
    input: R,
    /// Whole lines read and checked as UTF-8 once (a field is then a slice, with no check of its own); the
    /// unread ones are `text[pos..]`.
    text: String,
    pos: usize,
    /// The bytes after the last line break read so far: the start of a line not read whole yet.
    rest: Vec<u8>,
    eof: bool,
    /// The current line's fields, as ranges of `text`.
    fields: Vec<(usize, usize)>,
    row: usize,
    /// Set where the csv crate must read the file: at a line with a quote, a carriage return other than a
    /// CRLF ending, no character at all, or another number of fields than the header (the csv crate skips
    /// blank lines, reads quoted fields and names a wrong field count with its place in the file), or at
    /// text that is not UTF-8 (whose field the csv crate's reader names).
    pub odd: bool,
}

impl<R: Read> Lines<R> {
    /// The reader past the header, or `None` when the header itself is not a plain line (then the csv crate
    /// reads the file, and reports what is wrong with it).
    pub fn open(file: &'static str, input: R, required: &[&str]) -> Result<Option<Self>, String> {
        let mut lines = Lines {
            header: Header::new(file, std::iter::empty(), &[])?,
            input,
            text: String::new(),
            pos: 0,
            rest: Vec::new(),
            eof: false,
            fields: Vec::new(),
            row: 0,
            odd: false,
        };
        if !lines.split_next()? {
            return Ok(None); // an empty or odd first line
        }
        let names: Vec<&str> = (0..lines.fields.len()).map(|i| lines.text_of(i)).collect();
        lines.header = Header::new(file, names.into_iter(), required)?;
        lines.row = 1;
        Ok(Some(lines))
    }

    fn text_of(&self, i: usize) -> &str {
        let (a, b) = self.fields[i];
        // Fields end at commas and line ends: always character boundaries.
        self.text.get(a..b).unwrap_or_default()
    }

    /// Splits the next line into `fields`; `false` at the end of the file or at an odd line.
    fn split_next(&mut self) -> Result<bool, String> {
        loop {
            if self.odd {
                return Ok(false);
            }
            self.fields.clear();
            let (start, mut from) = (self.pos, self.pos);
            let bytes = self.text.as_bytes();
            // Where the line's text ends and the next line starts.
            let mut line = None;
            // One pass over the bytes (measured faster here than a word-at-a-time scan: fields are short).
            for (i, &b) in bytes.iter().enumerate().skip(start) {
                match b {
                    b',' => {
                        self.fields.push((from, i));
                        from = i + 1;
                    }
                    b'\n' => {
                        line = Some((i, i + 1));
                        break;
                    }
                    // CRLF (or a last CR) ends the line; any other carriage return ends a record for the
                    // csv crate. `text` holds whole lines: a CR at its end is the file's last byte.
                    b'\r' => match bytes.get(i + 1) {
                        Some(b'\n') => {
                            line = Some((i, i + 2));
                            break;
                        }
                        None => {
                            line = Some((i, i + 1));
                            break;
                        }
                        Some(_) => {
                            self.odd = true;
                            return Ok(false);
                        }
                    },
                    b'"' => {
                        self.odd = true;
                        return Ok(false);
                    }
                    _ => {}
                }
            }
            let (text_end, next) = match line {
                Some(l) => l,
                // Only at the end of the file does `text` end without a line break.
                None if start < bytes.len() => (bytes.len(), bytes.len()),
                None if self.eof => return Ok(false),
                None => {
                    self.fill()?;
                    continue;
                }
            };
            self.fields.push((from, text_end));
            let width = self.header.width();
            if text_end == start || (width > 0 && self.fields.len() != width) {
                self.odd = true;
                return Ok(false);
            }
            self.pos = next;
            return Ok(true);
        }
    }

    /// Replaces the read text with the next whole lines: the bytes left after the last line break, then a
    /// chunk more (more chunks while no line break comes), up to the last line break (or the file's end).
    fn fill(&mut self) -> Result<(), String> {
        let mut bytes = std::mem::take(&mut self.text).into_bytes();
        bytes.clear();
        bytes.append(&mut self.rest);
        let mut searched = 0;
        let end = loop {
            let n = self.read_chunk(&mut bytes)?;
            if let Some(at) = bytes[searched..].iter().rposition(|&b| b == b'\n') {
                break searched + at + 1;
            }
            searched = bytes.len();
            if n == 0 {
                self.eof = true;
                break bytes.len();
            }
        };
        self.rest.extend_from_slice(&bytes[end..]);
        bytes.truncate(end);
        self.pos = 0;
        match String::from_utf8(bytes) {
            Ok(text) => self.text = text,
            Err(_) => self.odd = true, // the csv crate's reader names the field
        }
        Ok(())
    }
}

impl<R: Read> Lines<R> {
    /// Appends up to a chunk of the file to `bytes`; 0 at its end.
    fn read_chunk(&mut self, bytes: &mut Vec<u8>) -> Result<usize, String> {
        let start = bytes.len();
        bytes.resize(start + CHUNK, 0);
        let mut len = start;
        while len < bytes.len() {
            match self.input.read(&mut bytes[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let e = csv::Error::from(e);
                    return Err(format!("{}, row {}: {e}", self.header.file, self.row + 1));
                }
            }
        }
        bytes.truncate(len);
        Ok(len - start)
    }
}

impl<R: Read> Rows for Lines<R> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn row(&self) -> usize {
        self.row
    }

    fn field(&self, i: usize) -> Option<Result<&str, ()>> {
        (i < self.fields.len()).then(|| Ok(self.text_of(i)))
    }

    fn next(&mut self) -> Result<bool, String> {
        let more = self.split_next()?;
        if more {
            self.row += 1;
        }
        Ok(more)
    }
}

#[cfg(test)]
mod tests {
    use super::CHUNK;
    use crate::stats::input::{Inputs, Rules, parse, read_dir};

    const PARTICIPANTS: &str = "id,cohort,function,tenure,gross_hours_month\na,heavy,Sales,1-3 y,10\nb,heavy,Sales,1-3 y,20\n";
    const POPULATION: &str = "cohort,population\nheavy,100\n";
    const PINGS: &str = "participant_id,sent_at,answered_at,used_copilot,verification_min,correction_min,context_min,trust_min\n\
                         a,2027-02-01T09:00:00Z,2027-02-01T09:10:00Z,1,5,3,,1\n\
                         b,2027-02-01T09:00:00Z,2027-02-01T09:05:00Z,0,,,,\n";
    const HEAD: &str = "participant_id,logged_at,outcome\n";

    fn diary(rows: &str) -> Result<Inputs, String> {
        parse(
            PARTICIPANTS,
            &format!("{HEAD}{rows}"),
            PINGS,
            POPULATION,
            Rules::default(),
        )
    }

    /// (n_tasks, used_tasks) of a and b.
    fn tasks(i: &Inputs) -> Vec<(f64, f64)> {
        let mut all: Vec<_> = i.kept.iter().chain(&i.excluded).collect();
        all.sort_by(|x, y| x.id.cmp(&y.id));
        all.iter().map(|t| (t.n_tasks, t.used_tasks)).collect()
    }

    #[test]
    fn plain_lines_are_split_by_hand_and_a_quoted_one_is_left_to_the_csv_crate() {
        use crate::stats::input::table::Rows;
        let text = "participant_id,outcome\r\na, all\r\nb,\"most\"\r\n";
        let mut lines = super::Lines::open("diary.csv", text.as_bytes(), &["outcome"])
            .unwrap()
            .unwrap();
        let outcome = lines.header().col("outcome");
        assert!(lines.next().unwrap());
        assert_eq!((lines.row(), lines.get(outcome).unwrap()), (2, "all"));
        assert!(!lines.next().unwrap());
        assert!(lines.odd, "the quoted line is read by the csv crate");
    }

    #[test]
    fn a_wrong_number_of_fields_gets_the_csv_crates_message_with_its_place() {
        for (rows, message) in [
            (
                "a,2027-02-01T09:00:00Z,all\nb,2027-02-01T09:00:00Z\n",
                "diary.csv, row 3: CSV error: record 2 (line: 3, byte: 60): found record with 2 fields, but the previous record has 3 fields",
            ),
            (
                "a,2027-02-01T09:00:00Z,all,x\n",
                "diary.csv, row 2: CSV error: record 1 (line: 2, byte: 33): found record with 4 fields, but the previous record has 3 fields",
            ),
        ] {
            assert_eq!(diary(rows).unwrap_err(), message);
        }
    }

    #[test]
    fn quotes_blank_lines_and_line_endings_count_rows_as_records() {
        let lots = |row: usize| {
            format!(
                "diary.csv, row {row}, column outcome: \"lots\" is not one of all, most, some, none"
            )
        };
        let late = "b,2027-02-01T09:00:00Z,lots\n";
        for (rows, row) in [
            (format!("\"a\",\"2027-02-01T09:00:00Z\",\"all\"\n{late}"), 3),
            (format!("a,2027-02-01T09:00:00Z,all\n\n{late}"), 3),
            (
                format!(
                    "a,2027-02-01T09:00:00Z,all\r\n{}",
                    late.replace('\n', "\r\n")
                ),
                3,
            ),
            (
                format!("a,2027-02-01T09:00:00Z,all\r{}", late.replace('\n', "\r")),
                3,
            ),
            (
                format!(
                    " a , 2027-02-01T09:00:00Z ,all\n{}",
                    late.replace(",lots", ", lots")
                ),
                3,
            ),
            (
                format!("a,2027-02-01T09:00:00Z,all\n{}", late.trim_end()),
                3,
            ),
        ] {
            assert_eq!(diary(&rows).unwrap_err(), lots(row), "{rows:?}");
        }
        // A quoted line break is inside one record: the bad row is still the third.
        let notes = "participant_id,logged_at,outcome,category\n\
                     a,2027-02-01T09:00:00Z,all,\"mail,\ndrafts\"\n\
                     b,2027-02-01T09:00:00Z,lots,code\n";
        assert_eq!(
            parse(PARTICIPANTS, notes, PINGS, POPULATION, Rules::default()).unwrap_err(),
            lots(3)
        );
        // A quote inside a field is kept as the csv crate keeps it.
        for (outcome, shown) in [("\"al\nl\"", "\"al\\nl\""), ("al\"l", "\"al\\\"l\"")] {
            assert_eq!(
                diary(&format!("a,2027-02-01T09:00:00Z,{outcome}\n")).unwrap_err(),
                format!(
                    "diary.csv, row 2, column outcome: {shown} is not one of all, most, some, none"
                )
            );
        }
        let latin = format!("{HEAD}a,2027-02-01T09:00:00Z,");
        let mut bytes = latin.into_bytes();
        bytes.extend(b"\xe9\n");
        let dir = tempfile::tempdir().unwrap();
        write_dir(dir.path(), &bytes);
        assert_eq!(
            read_dir(dir.path(), Rules::default()).unwrap_err(),
            "diary.csv, row 2, column outcome: is not UTF-8 text"
        );
    }

    fn write_dir(dir: &std::path::Path, diary: &[u8]) {
        for (name, text) in [
            ("participants.csv", PARTICIPANTS.as_bytes()),
            ("pings.csv", PINGS.as_bytes()),
            ("population.csv", POPULATION.as_bytes()),
            ("diary.csv", diary),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }

    #[test]
    fn bom_crlf_and_quoted_files_give_the_totals_of_plain_ones() {
        let plain = "a,2027-02-01T09:00:00Z,all\na,2027-02-01T10:00:00Z,some\nb,2027-02-01T09:00:00Z,most\n";
        let expected = tasks(&diary(plain).unwrap());
        assert_eq!(expected, [(2.0, 1.0), (1.0, 1.0)]);
        let with_notes = "participant_id,logged_at,outcome,category\n\
                          a,2027-02-01T09:00:00Z,all,\"mail, drafts\"\n\
                          a,2027-02-01T10:00:00Z,some,\"two\nlines\"\n\
                          b,2027-02-01T09:00:00Z,most,code\n";
        let crlf = format!("{HEAD}{plain}").replace('\n', "\r\n");
        for text in [with_notes.to_string(), crlf] {
            let dir = tempfile::tempdir().unwrap();
            write_dir(dir.path(), format!("\u{feff}{text}").as_bytes());
            let read = read_dir(dir.path(), Rules::default()).unwrap();
            assert_eq!(tasks(&read), expected, "{text:?}");
        }
        let empty = diary("").unwrap();
        assert_eq!(tasks(&empty), [(0.0, 0.0), (0.0, 0.0)]);
    }

    #[test]
    fn lines_across_chunks_and_longer_than_a_chunk_are_read_whole() {
        let mut rows = String::new();
        for i in 0..20_000 {
            let who = if i % 3 == 0 { "a" } else { "b" };
            let outcome = ["all", "most", "some", "none"][i % 4];
            rows.push_str(&format!(
                "{who},2027-02-01T09:{:02}:00Z,{outcome},x\n",
                i % 60
            ));
        }
        assert!(rows.len() > 2 * CHUNK);
        let long = "y".repeat(CHUNK + 10);
        rows.push_str(&format!(
            "a,2027-02-01T09:00:00Z,all,{long}\nb,2027-02-01T09:00:00Z,none,{long}"
        ));
        let text = format!("participant_id,logged_at,outcome,category\n{rows}");
        let read = parse(PARTICIPANTS, &text, PINGS, POPULATION, Rules::default()).unwrap();
        // a: rows 0, 3, 6, …: 6,667 of them, used when i % 4 is 0 or 1; plus the long "all".
        let a_used = (0..20_000).filter(|i| i % 3 == 0 && i % 4 < 2).count();
        assert_eq!(
            tasks(&read),
            [
                (6_668.0, a_used as f64 + 1.0),
                (13_334.0, (10_000 - a_used) as f64)
            ]
        );
    }
}
