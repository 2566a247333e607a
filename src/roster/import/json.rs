//! The one JSON reader of the vendor formats (GitHub usage and seats, Cursor, Gemini, Graph): NDJSON, one
//! array, one object wrapping the list, pages of such objects (one per line, in an array, or
//! pretty-printed one after another), or a single pretty-printed record.
//!
//! It reads from any `BufRead` and hands over one record at a time, so memory stays bounded whatever the
//! file's size for NDJSON, a top-level array of records and a wrapping object whose list sits under one
//! of `WRAPPER_KEYS`. Still whole in memory: one NDJSON line, one array element (a page inside an array
//! of pages), and a wrapping object whose list has another name (found only once the object is complete).

use std::io::{BufRead, Read};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::ImportProblem;
use super::table::{Problems, UTF16_MESSAGE, quote, refuse};

/// Keys under which a wrapping object carries its record list: Microsoft Graph (`value`), GitHub seat
/// assignments (`seats`), Cursor's Admin API (`data`), Google's Reports API (`items`).
pub(super) const WRAPPER_KEYS: [&str; 4] = ["value", "seats", "data", "items"];

/// How far the first line is read to tell NDJSON from one long JSON document.
const FIRST_LINE_MAX: u64 = 1 << 20;

/// How the JSON file was laid out, said on the result page as the "version" of the source read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JsonLayout {
    /// One JSON value per line.
    Lines,
    /// One JSON array of records.
    Array,
    /// One object wrapping the record list (`{"seats": [...]}`), or several such pages.
    Wrapped,
    /// One record, or several pretty-printed values one after another.
    Document,
}

impl JsonLayout {
    pub(super) fn label(self) -> &'static str {
        match self {
            JsonLayout::Lines => "NDJSON",
            JsonLayout::Array => "JSON array",
            JsonLayout::Wrapped => "JSON object",
            JsonLayout::Document => "JSON document",
        }
    }
}

/// What the reader found around the records.
#[derive(Debug)]
pub(super) struct JsonFile {
    /// The layout read.
    pub(super) layout: JsonLayout,
    /// Each wrapping object (page) without its record list, e.g. `report_start_day`, `total_seats`,
    /// Cursor's `period` and `pagination`, Google's `nextPageToken`.
    pub(super) wrappers: Vec<Map<String, Value>>,
    /// Records handed to the callback.
    pub(super) records: usize,
    /// "UTF-8" or "UTF-8 with BOM" (JSON must be UTF-8, RFC 8259).
    pub(super) encoding: &'static str,
}

impl JsonFile {
    /// Every field of the wrapping objects; the first page's value wins.
    pub(super) fn envelope(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for w in &self.wrappers {
            for (k, v) in w {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        out
    }
}

/// What kind of JSON value this is, in words.
pub(super) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "number",
        Value::String(_) => "text",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// A non-negative whole count of a JSON record; absent or null counts as 0.
pub(super) fn json_count(obj: &Map<String, Value>, field: &str) -> Result<u64, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| format!("{} is not a whole number ≥ 0", quote(&n.to_string()))),
        Some(other) => Err(format!(
            "{field} must be a number, not {}",
            json_type(other)
        )),
    }
}

/// The record list of an object that wraps one: a known wrapper key, or else the only field holding a
/// list of objects when the object is not itself a record (`is_record` says which objects are).
fn wrapped_list<'v>(
    obj: &'v Map<String, Value>,
    is_record: &dyn Fn(&Map<String, Value>) -> bool,
) -> Option<&'v str> {
    if is_record(obj) {
        return None;
    }
    if let Some(k) = WRAPPER_KEYS
        .iter()
        .find(|k| matches!(obj.get(**k), Some(Value::Array(_))))
    {
        return obj.get_key_value(*k).map(|(k, _)| k.as_str());
    }
    let mut lists = obj.iter().filter(|(_, v)| match v {
        Value::Array(items) => !items.is_empty() && items.iter().all(Value::is_object),
        _ => false,
    });
    match (lists.next(), lists.next()) {
        (Some((k, _)), None) => Some(k.as_str()),
        _ => None,
    }
}

/// serde_json's message without its " at line L column C", which counts from where the value began.
fn bare(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

fn unreadable(e: std::io::Error) -> Vec<ImportProblem> {
    vec![ImportProblem::new(
        None,
        None,
        format!("the file could not be read: {e}"),
    )]
}

/// The state of one read: the callbacks and what was found so far.
struct Reader<'r, 'e> {
    is_record: &'r dyn Fn(&Map<String, Value>) -> bool,
    each: &'r mut (dyn FnMut(usize, Value, &mut Problems) + 'e),
    problems: &'r mut Problems,
    file: JsonFile,
}

impl Reader<'_, '_> {
    fn record(&mut self, line: Option<usize>, value: Value) {
        self.file.records += 1;
        (self.each)(line.unwrap_or(self.file.records), value, self.problems);
    }

    /// Flattens one complete top-level value: a wrapper gives its list (and its other fields), anything
    /// else is a record.
    fn top(&mut self, value: Value, line: Option<usize>) {
        let list_key = match &value {
            Value::Object(obj) => wrapped_list(obj, self.is_record).map(str::to_owned),
            _ => None,
        };
        match (value, list_key) {
            (Value::Object(mut obj), Some(key)) => {
                self.file.layout = JsonLayout::Wrapped;
                let Some(Value::Array(items)) = obj.remove(&key) else {
                    return;
                };
                self.file.wrappers.push(obj);
                for item in items {
                    self.record(None, item);
                }
            }
            (value, _) => self.record(line, value),
        }
    }

    /// NDJSON: each line on its own, numbered from the file's first line.
    fn lines(
        &mut self,
        mut line: Vec<u8>,
        mut number: usize,
        mut reader: impl BufRead,
    ) -> Result<(), Vec<ImportProblem>> {
        self.file.layout = JsonLayout::Lines;
        loop {
            let text = line.trim_ascii();
            if !text.is_empty() {
                if std::str::from_utf8(text).is_err() {
                    return refuse(
                        Some(number),
                        None,
                        format!("row {number} is not valid UTF-8; save the file as UTF-8"),
                    );
                }
                match serde_json::from_slice::<Value>(text) {
                    Ok(v) => self.top(v, Some(number)),
                    Err(e) => self.problems.push(
                        Some(number),
                        None,
                        format!(
                            "the line is not valid JSON at column {}: {}",
                            e.column(),
                            bare(&e)
                        ),
                    ),
                }
            }
            line.clear();
            if reader.read_until(b'\n', &mut line).map_err(unreadable)? == 0 {
                return Ok(());
            }
            number += 1;
        }
    }

    /// One or more JSON values one after another, each read as it streams in.
    fn document(&mut self, reader: impl BufRead, line: usize) -> Result<(), Vec<ImportProblem>> {
        let mut r = Counting {
            inner: reader,
            newlines: line - 1,
            offset: 0,
        };
        loop {
            // Whitespace between values (pages written one after another).
            loop {
                let buf = r.fill_buf().map_err(unreadable)?;
                if buf.is_empty() {
                    return Ok(());
                }
                let n = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
                let all = n == buf.len();
                r.consume(n);
                if !all {
                    break;
                }
            }
            let mut de = serde_json::Deserializer::from_reader(&mut r);
            if let Err(e) = (Top { rd: self }).deserialize(&mut de) {
                let line = 1 + r.newlines;
                return refuse(
                    Some(line),
                    None,
                    format!(
                        "the file is not valid JSON at line {line} (byte {}): {}",
                        r.offset,
                        bare(&e)
                    ),
                );
            }
        }
    }
}

/// A reader that counts the lines and bytes it has passed, to say where a broken document broke.
struct Counting<R> {
    inner: R,
    newlines: usize,
    offset: u64,
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.newlines += buf[..n].iter().filter(|&&b| b == b'\n').count();
        self.offset += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let n = n.min(buf.len());
            self.newlines += buf[..n].iter().filter(|&&b| b == b'\n').count();
        }
        self.offset += n as u64;
        self.inner.consume(n);
    }
}

/// One top-level value of a document: an array streams its elements, an object streams the list under
/// a wrapper key, anything else is read whole.
struct Top<'x, 'r, 'e> {
    rd: &'x mut Reader<'r, 'e>,
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.rd.file.layout == JsonLayout::Document {
            self.rd.file.layout = JsonLayout::Array;
        }
        while let Some(v) = seq.next_element::<Value>()? {
            self.rd.top(v, None);
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut obj = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            // A record that happens to have such a key is known by the fields before it.
            if !streamed && WRAPPER_KEYS.contains(&key.as_str()) && !(self.rd.is_record)(&obj) {
                match map.next_value_seed(List { rd: &mut *self.rd })? {
                    None => streamed = true,
                    Some(v) => {
                        obj.insert(key, v);
                    }
                }
            } else {
                let v: Value = map.next_value()?;
                obj.insert(key, v);
            }
        }
        if streamed {
            self.rd.file.layout = JsonLayout::Wrapped;
            self.rd.file.wrappers.push(obj);
        } else {
            self.rd.top(Value::Object(obj), None);
        }
        Ok(())
    }
}

/// The value under a wrapper key: a list is streamed record by record (`None`); anything else is
/// returned whole so the object keeps it.
struct List<'x, 'r, 'e> {
    rd: &'x mut Reader<'r, 'e>,
}

impl<'de> DeserializeSeed<'de> for List<'_, '_, '_> {
    type Value = Option<Value>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for List<'_, '_, '_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Value>, A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            self.rd.record(None, v);
        }
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<Value>, A::Error> {
        use serde::Deserialize;
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<Value>, E> {
        Ok(Some(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<Value>, E> {
        Ok(Some(Value::Null))
    }
}

/// Reads a JSON file in any of the shapes vendors and their tools produce and hands each record to
/// `each` with its row: the line for NDJSON, else its 1-based position among the records. `is_record`
/// tells a record from a wrapper (e.g. a GitHub record has `user_login`). Broken JSON names its line
/// (NDJSON: each broken line is listed; a document: where it broke, line and byte).
pub(super) fn read_json(
    mut reader: impl BufRead,
    is_record: &dyn Fn(&Map<String, Value>) -> bool,
    problems: &mut Problems,
    each: &mut dyn FnMut(usize, Value, &mut Problems),
) -> Result<JsonFile, Vec<ImportProblem>> {
    let head = reader.fill_buf().map_err(unreadable)?;
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return refuse(None, None, UTF16_MESSAGE);
    }
    let bom = head.starts_with(&[0xEF, 0xBB, 0xBF]);
    if bom {
        reader.consume(3);
    }
    // Blank lines before the first value still count as rows.
    let mut line = 1;
    let first = loop {
        let buf = reader.fill_buf().map_err(unreadable)?;
        let Some(&b) = buf.iter().find(|b| !b.is_ascii_whitespace()) else {
            if buf.is_empty() {
                return refuse(None, None, "the file is empty");
            }
            line += buf.iter().filter(|&&b| b == b'\n').count();
            let n = buf.len();
            reader.consume(n);
            continue;
        };
        let n = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        line += buf[..n].iter().filter(|&&b| b == b'\n').count();
        reader.consume(n);
        break b;
    };
    if first == 0 {
        return refuse(None, None, UTF16_MESSAGE);
    }
    let mut rd = Reader {
        is_record,
        each,
        problems,
        file: JsonFile {
            layout: JsonLayout::Document,
            wrappers: Vec::new(),
            records: 0,
            encoding: if bom { "UTF-8 with BOM" } else { "UTF-8" },
        },
    };
    if first == b'{' {
        // NDJSON when the first line is a whole object (records, or pages one per line).
        let mut head = Vec::new();
        (&mut reader)
            .take(FIRST_LINE_MAX)
            .read_until(b'\n', &mut head)
            .map_err(unreadable)?;
        if head.contains(&0) {
            return refuse(None, None, UTF16_MESSAGE);
        }
        if serde_json::from_slice::<Value>(head.trim_ascii()).is_ok_and(|v| v.is_object()) {
            rd.lines(head, line, reader)?;
        } else {
            rd.document(std::io::Cursor::new(head).chain(reader), line)?;
        }
    } else {
        rd.document(reader, line)?;
    }
    Ok(rd.file)
}

/// Every record of a JSON text with its row, for the formats that read the whole file anyway (Graph).
pub(super) struct RecordList {
    /// (row, record) in file order.
    pub(super) records: Vec<(usize, Value)>,
    /// The layout and the wrapping objects.
    pub(super) file: JsonFile,
}

/// Reads a JSON text into a list of records (see `read_json`); an object is a record unless it holds a
/// list under one of `WRAPPER_KEYS`.
pub(super) fn record_list(text: impl AsRef<[u8]>) -> Result<RecordList, Vec<ImportProblem>> {
    let mut records = Vec::new();
    let mut problems = Problems::default();
    let is_record = |o: &Map<String, Value>| {
        !WRAPPER_KEYS
            .iter()
            .any(|k| matches!(o.get(*k), Some(Value::Array(_))))
    };
    let file = read_json(
        text.as_ref(),
        &is_record,
        &mut problems,
        &mut |row, v, _| records.push((row, v)),
    )?;
    problems.finish(RecordList { records, file })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (layout, envelope keys, (row, login) of each record) of a JSON file.
    fn read(text: &str) -> (JsonLayout, Vec<String>, Vec<(usize, String)>) {
        let mut got = Vec::new();
        let mut problems = Problems::default();
        let is_record = |o: &Map<String, Value>| o.contains_key("login");
        let file = read_json(
            text.as_bytes(),
            &is_record,
            &mut problems,
            &mut |row, v, _| {
                got.push((row, v["login"].as_str().unwrap_or("?").to_owned()));
            },
        )
        .unwrap();
        assert!(problems.is_empty());
        assert_eq!(file.records, got.len());
        (file.layout, file.envelope().keys().cloned().collect(), got)
    }

    fn broken(text: &str) -> Vec<ImportProblem> {
        let mut problems = Problems::default();
        match read_json(text.as_bytes(), &|_| true, &mut problems, &mut |_, _, _| {}) {
            Ok(_) => problems.into_vec(),
            Err(e) => e,
        }
    }

    #[test]
    fn json_records_are_found_in_every_layout() {
        let rec = |l: &str| format!("{{\"login\":\"{l}\"}}");
        let (a, b) = (rec("a"), rec("b"));
        let two = vec![(1, "a".to_string()), (2, "b".to_string())];
        assert_eq!(read(&format!("{a}\n{b}\n")).2, two);
        assert_eq!(read(&format!("{a}\n\n{b}\n")).2[1], (3, "b".into()));
        assert_eq!(read(&format!("\n\n{a}\n{b}\n")).2[1], (4, "b".into()));
        assert_eq!(read(&format!("{a}\n{b}")).0, JsonLayout::Lines);
        let (layout, _, got) = read(&format!("[\n  {a},\n  {b}\n]"));
        assert_eq!((layout, got), (JsonLayout::Array, two.clone()));
        let (layout, _, got) = read(&format!("[{a},{b}]"));
        assert_eq!((layout, got), (JsonLayout::Array, two.clone()));
        let (layout, env, got) = read(&format!("{{\"value\":[{a},{b}],\"@odata.context\":\"x\"}}"));
        assert_eq!(
            (layout, env, got),
            (
                JsonLayout::Wrapped,
                vec!["@odata.context".into()],
                two.clone()
            )
        );
        // Pages: in an array, one per line, pretty-printed one after another.
        let page = |r: &str| format!("{{\"total\":1,\"seats\":[{r}]}}");
        for text in [
            format!("[{},{}]", page(&a), page(&b)),
            format!("{}\n{}\n", page(&a), page(&b)),
            format!("{{\n \"seats\": [{a}]\n}}\n{{\n \"seats\": [{b}]\n}}\n"),
        ] {
            let (layout, _, got) = read(&text);
            assert_eq!((layout, got), (JsonLayout::Wrapped, two.clone()), "{text}");
        }
        // One pretty-printed record; an unknown key holding the only list of objects.
        assert_eq!(read("{\n  \"login\": \"a\"\n}\n").2, vec![(1, "a".into())]);
        let (_, env, got) = read(&format!(
            "{{\"report_day\":\"2026-11-02\",\n\"users\":[{a}]}}"
        ));
        assert_eq!((env, got.len()), (vec!["report_day".into()], 1));
        // A wrapper's fields after its list are kept too (Cursor's period and pagination).
        let (_, env, got) = read(&format!(
            "{{\n\"data\":[{a},{b}],\n\"pagination\":{{\"hasNextPage\":false}}}}"
        ));
        assert_eq!((env, got), (vec!["pagination".into()], two.clone()));
        // A BOM is allowed and said.
        let mut problems = Problems::default();
        let file = read_json(
            format!("\u{feff}{a}\n").as_bytes(),
            &|_| true,
            &mut problems,
            &mut |_, _, _| {},
        )
        .unwrap();
        assert_eq!(file.encoding, "UTF-8 with BOM");
    }

    #[test]
    fn broken_json_names_the_line_and_byte_where_it_broke() {
        let err = broken("{\n \"login\": \"a\"\n}\n{\n \"login\" \"b\"\n}");
        assert_eq!(err[0].row, Some(5));
        assert!(
            err[0].message.contains("line 5 (byte 30)"),
            "{}",
            err[0].message
        );
        let err = broken("[\n{\"login\":\"a\"},\n{\"login\":\"b\"},\n]");
        assert_eq!(err[0].row, Some(4), "{err:?}");
        // NDJSON: every broken line is listed with its own number.
        let err = broken("{\"login\":\"a\"}\n{\"login\":\n{\"login\":\"c\"}\n{x}\n");
        assert_eq!(
            err.iter().map(|p| p.row).collect::<Vec<_>>(),
            vec![Some(2), Some(4)]
        );
        assert!(err[1].message.contains("column 2"), "{}", err[1].message);
        assert_eq!(broken("")[0].message, "the file is empty");
        assert_eq!(broken(" \n\n")[0].message, "the file is empty");
        assert_eq!(broken("\u{FEFF}")[0].message, "the file is empty");
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend_from_slice(b"{\0}\0");
        let mut problems = Problems::default();
        let err = read_json(&bytes[..], &|_| true, &mut problems, &mut |_, _, _| {}).unwrap_err();
        assert_eq!(err[0].message, UTF16_MESSAGE);
        let err = read_json(
            &b"{\"login\":\"a\"}\n\n{\"login\":\"\xc3\"}\n"[..],
            &|_| true,
            &mut problems,
            &mut |_, _, _| {},
        )
        .unwrap_err();
        assert_eq!(err[0].row, Some(3));
    }

    #[test]
    fn a_long_array_read_through_a_small_buffer_gives_every_record_in_order() {
        let text = format!(
            "[{}]",
            (0..2000)
                .map(|i| format!("{{\"login\":\"u{i}\"}}"))
                .collect::<Vec<_>>()
                .join(",\n")
        );
        let reader = std::io::BufReader::with_capacity(16, text.as_bytes());
        let mut n = 0;
        let mut problems = Problems::default();
        read_json(
            reader,
            &|o| o.contains_key("login"),
            &mut problems,
            &mut |row, v, _| {
                n += 1;
                assert_eq!(v["login"], format!("u{}", row - 1));
            },
        )
        .unwrap();
        assert_eq!(n, 2000);
    }
}
