//! `pings.csv` read in two halves at once. It is the biggest file (about 60 % of the rows) and was read on
//! one thread while participants.csv and the diary took the other, which then sat idle for half of the
//! run. Each half is read by the fast line reader on its own thread, with the header line put in front
//! of the second; their sums are added together after. Only a file both halves read to the end without
//! a problem and without a line left to the csv crate is taken this way: otherwise the whole file is read
//! again from its start as before, so every message (and the row it names) is what it always was. A
//! quoted field that runs over lines and straddles the cut has its opening quote in the first half, which
//! then leaves it to the csv crate.
use super::lines::Lines;
use super::table::Rows;
use super::{Again, Input, Pass, PingSums, Pings, Rules, read_file};
use std::io::{Read, Seek, SeekFrom};

/// Files smaller than this are read by one thread: for them a second thread and header cost more than
/// they save.
pub const SPLIT_AT_LEAST: u64 = 4 << 20;

/// What a line end is searched for in, around the cut and after the header.
const LOOK: usize = 64 << 10;

type Reader<'a> = Box<dyn Read + Send + 'a>;

/// The pings' sums: in two halves on two threads for a file of at least `min` bytes, else (or when a half
/// meets anything but plain lines and good rows) the whole file on this thread.
pub fn read_pings(rules: Rules, input: Input, min: u64) -> Result<PingSums, String> {
    if let Some((a, b)) = halves(&input, min) {
        let (first, second) = std::thread::scope(|s| {
            let second = s.spawn(move || half(rules, b));
            let first = half(rules, a);
            let second = second
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (first, second)
        });
        if let (Some((mut one, rows)), Some((two, _))) = (first, second) {
            // The second half's first row (its row 2) is the row after the first half's last.
            one.add(two, rows - 1);
            return Ok(one);
        }
    }
    read_file(&Pings { rules }, input)
}

/// One half's sums and the number of its last row, or `None` if it is not plain lines and good rows.
fn half(rules: Rules, reader: Reader) -> Option<(PingSums, usize)> {
    let mut lines = Lines::open(Pings::FILE, reader, Pings::REQUIRED).ok()??;
    let out = Pings { rules }.read(&mut lines).ok()?;
    (!lines.odd && out.stopped.is_none()).then(|| (out, lines.row()))
}

impl PingSums {
    /// Adds `other`'s sums (read after these, its rows numbered `offset` too low) into these.
    fn add(&mut self, other: PingSums, offset: usize) {
        for (id, k) in other.places {
            let theirs = &other.sums[k];
            match self.places.get(&id) {
                Some(&i) => {
                    let s = &mut self.sums[i];
                    s.delivered += theirs.delivered;
                    s.valid += theirs.valid;
                    s.used += theirs.used;
                    s.minutes += theirs.minutes;
                    for (a, b) in s.by_category.iter_mut().zip(theirs.by_category) {
                        *a += b;
                    }
                }
                None => {
                    self.places.insert(id, self.sums.len());
                    self.first_rows.push(other.first_rows[k] + offset);
                    self.sums.push(theirs.clone());
                }
            }
        }
    }
}

/// The file as two readers: from its start to the first line end at or after its middle, and the header
/// line followed by the rest. `None` for a file under `min` bytes, or without such line ends.
fn halves<'a>(input: &Input<'a>, min: u64) -> Option<(Reader<'a>, Reader<'a>)> {
    match &input.again {
        Again::Text(text) => {
            if (text.len() as u64) < min {
                return None;
            }
            let header = line_end(text, 0)?;
            let cut = line_end(text, (text.len() / 2).max(header))?;
            (cut < text.len()).then(|| {
                let first: Reader<'a> = Box::new(&text[..cut]);
                let second: Reader<'a> = Box::new((&text[..header]).chain(&text[cut..]));
                (first, second)
            })
        }
        Again::File(path) => {
            let open = || -> std::io::Result<Option<(Reader<'a>, Reader<'a>)>> {
                let mut file = std::fs::File::open(path)?;
                let size = file.metadata()?.len();
                if size < min {
                    return Ok(None);
                }
                let mut head = vec![0; LOOK.min(size as usize)];
                file.read_exact(&mut head)?;
                let bom = if head.starts_with(b"\xEF\xBB\xBF") {
                    3
                } else {
                    0
                };
                let Some(header) = line_end(&head, bom) else {
                    return Ok(None);
                };
                let middle = (size / 2).max(header as u64);
                file.seek(SeekFrom::Start(middle))?;
                let mut around = Vec::with_capacity(LOOK);
                (&mut file).take(LOOK as u64).read_to_end(&mut around)?;
                let Some(cut) = line_end(&around, 0).map(|at| middle + at as u64) else {
                    return Ok(None);
                };
                if cut >= size {
                    return Ok(None);
                }
                let first = super::without_bom_io(path)?.take(cut - bom as u64);
                let mut rest = std::fs::File::open(path)?;
                rest.seek(SeekFrom::Start(cut))?;
                let second = std::io::Cursor::new(head[bom..header].to_vec()).chain(rest);
                Ok(Some((Box::new(first), Box::new(second))))
            };
            open().ok().flatten()
        }
    }
}

/// The position just after the first line end at or after `from`.
fn line_end(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == b'\n')
        .map(|at| from + at + 1)
}

#[cfg(test)]
mod tests {
    use super::super::{Input, Inputs, Rules, parse_split};

    const PARTICIPANTS: &str = "id,cohort,function,tenure,gross_hours_month\na,heavy,Sales,1-3 y,10\n\
                                b,heavy,Sales,1-3 y,20\nc,light,Legal,1-3 y,5\n";
    const DIARY: &str = "participant_id,logged_at,outcome\na,2027-02-01T09:00:00Z,all\n";
    const POPULATION: &str = "cohort,population\nheavy,100\nlight,100\n";
    const HEAD: &str = "participant_id,sent_at,answered_at,used_copilot,verification_min,correction_min,context_min,trust_min\n";

    /// Pings for a, b and c taking turns (every id on both sides of any cut), some late, some unanswered,
    /// with fractions of minutes.
    fn pings(rows: usize) -> String {
        let mut out = String::from(HEAD);
        for i in 0..rows {
            let id = ["a", "b", "c"][i % 3];
            let answered = match i % 5 {
                0 => String::new(),
                1 => "2027-02-01T10:00:00Z".into(),
                _ => "2027-02-01T09:10:00Z".into(),
            };
            out += &format!(
                "{id},2027-02-01T09:00:00Z,{answered},{},{}.5,{},,{}\n",
                i % 2,
                i % 7,
                i % 3,
                i % 4
            );
        }
        out
    }

    fn read(pings: &str, split_at_least: u64) -> Result<Inputs, String> {
        let text = |t: &'static str| Input::text(t.as_bytes());
        let files = [
            text(PARTICIPANTS),
            text(DIARY),
            Input::text(pings.as_bytes()),
            text(POPULATION),
        ];
        let rules = Rules {
            min_compliance: 0.0,
            ..Rules::default()
        };
        parse_split(files, rules, split_at_least)
    }

    /// Whether each half is read by the fast reader to its end without a problem (`None`: not cut).
    fn cut(input: &Input, rules: Rules) -> Option<(bool, bool)> {
        let (a, b) = super::halves(input, 0)?;
        Some((
            super::half(rules, a).is_some(),
            super::half(rules, b).is_some(),
        ))
    }

    fn same(pings: &str) -> Result<Inputs, String> {
        let whole = read(pings, u64::MAX);
        let halves = read(pings, 0);
        match (&whole, &halves) {
            (Ok(w), Ok(h)) => {
                assert_eq!(w.kept, h.kept);
                assert_eq!(w.excluded, h.excluded);
            }
            (w, h) => assert_eq!(w.as_ref().err(), h.as_ref().err()),
        }
        halves
    }

    #[test]
    fn two_halves_give_the_totals_of_one_read() {
        let text = pings(3_001);
        let input = Input::text(text.as_bytes());
        assert_eq!(cut(&input, Rules::default()), Some((true, true)));
        let i = same(&text).unwrap();
        let a = i.kept.iter().find(|t| t.id == "a").unwrap();
        assert_eq!(a.delivered, 1_001.0);
        // Every third row is a's; of those, the unanswered and late ones (i % 5 of 0 and 1) don't count.
        assert!(a.valid > 500.0 && a.valid < a.delivered);
        assert!(a.oversight_min > 0.0);
    }

    #[test]
    fn a_problem_in_the_second_half_is_named_as_by_one_read() {
        let good = pings(2_000);
        let lines: Vec<&str> = good.lines().collect();
        // A bad value, then an unknown id, each in the second half only.
        let mut bad = lines.clone();
        bad[1_500] = "b,2027-02-01T09:00:00Z,2027-02-01T09:10:00Z,yes,1,,,";
        let bad = bad.join("\n") + "\n";
        let input = Input::text(bad.as_bytes());
        assert_eq!(cut(&input, Rules::default()), Some((true, false)));
        let err = same(&bad).unwrap_err();
        assert!(
            err.contains("pings.csv, row 1501, column used_copilot"),
            "{err}"
        );
        let mut unknown = lines.clone();
        unknown[1_700] = "zed,2027-02-01T09:00:00Z,,0,,,,";
        unknown[1_900] = "zed,2027-02-01T09:00:00Z,,0,,,,";
        let unknown = unknown.join("\n") + "\n";
        // Both halves read (an id is matched to participants.csv after): the row is the file's.
        let input = Input::text(unknown.as_bytes());
        assert_eq!(cut(&input, Rules::default()), Some((true, true)));
        let err = same(&unknown).unwrap_err();
        assert!(err.contains("pings.csv, row 1701"), "{err}");
        assert!(err.contains("\"zed\" is not in participants.csv"), "{err}");
    }

    #[test]
    fn a_quoted_field_over_the_cut_reads_the_whole_file_as_before() {
        let good = pings(2_000);
        let mut lines: Vec<String> = good.lines().map(String::from).collect();
        // A quoted id spread over three lines around the middle: the csv crate reads the file.
        lines[999] = "\"a".into();
        lines[1_000] = "b".into();
        lines[1_001] = "c\",2027-02-01T09:00:00Z,,0,,,,".into();
        let text = lines.join("\n") + "\n";
        let input = Input::text(text.as_bytes());
        assert_eq!(cut(&input, Rules::default()), Some((false, false)));
        let err = same(&text).unwrap_err();
        assert!(err.contains("not in participants.csv"), "{err}");
    }

    #[test]
    fn a_file_with_a_byte_order_mark_is_cut_on_disk_with_the_same_totals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pings.csv");
        let text = pings(5_000);
        std::fs::write(&path, format!("\u{feff}{text}")).unwrap();
        let rules = Rules {
            min_compliance: 0.0,
            ..Rules::default()
        };
        let text_input = |t: &'static str| Input::text(t.as_bytes());
        let files = || {
            [
                text_input(PARTICIPANTS),
                text_input(DIARY),
                Input::file(&path).unwrap(),
                text_input(POPULATION),
            ]
        };
        assert_eq!(cut(&files()[2], rules), Some((true, true)));
        let halves = parse_split(files(), rules, 0).unwrap();
        let whole = read(&text, u64::MAX).unwrap();
        assert_eq!(halves.kept, whole.kept);
        assert_eq!(
            parse_split(files(), rules, u64::MAX).unwrap().kept,
            whole.kept
        );
    }
}
