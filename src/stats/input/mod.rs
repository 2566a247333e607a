//! Reading a study's raw data as files (`layer2 analyze DIR`, and the export round trip): per-participant
//! totals with the compliance rule applied. Pure: text in, totals out; errors name the file, row and column.
mod lines;
mod split;
mod table;

use lines::Lines;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use table::{Col, Rows, Table, When, err};

/// How answers are judged.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// Answers later than this after `sent_at` count as missed.
    pub window_minutes: i64,
    /// Participants whose valid ÷ delivered is below this are left out (0 keeps everyone).
    pub min_compliance: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            window_minutes: 30,
            min_compliance: super::MIN_COMPLIANCE,
        }
    }
}

/// One participant's totals (SPEC "The Layer 2 profile").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Pseudonymous id.
    pub id: String,
    /// Adoption cohort.
    pub cohort: String,
    /// Function (segment).
    pub function: String,
    /// Tenure band (segment).
    pub tenure: String,
    /// g_i: gross AI hours per month.
    pub gross_hours: f64,
    /// n_i: diary tasks.
    pub n_tasks: f64,
    /// y_i: tasks whose output was used without major rework (all + most).
    pub used_tasks: f64,
    /// Pings delivered.
    pub delivered: f64,
    /// Pings answered inside the window.
    pub valid: f64,
    /// u_i: valid answers reporting copilot use.
    pub used_pings: f64,
    /// m_i: oversight minutes over those answers.
    pub oversight_min: f64,
    /// m_i split into verification, correction, context reconstruction, trust calibration.
    pub oversight_by_category: [f64; 4],
}

impl Totals {
    /// valid ÷ delivered, or None with nothing delivered.
    pub fn compliance(&self) -> Option<f64> {
        (self.delivered > 0.0).then(|| self.valid / self.delivered)
    }
}

/// What the files hold, after the compliance rule.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Participants kept.
    pub kept: Vec<Totals>,
    /// Participants left out for low compliance.
    pub excluded: Vec<Totals>,
    /// Roster size per cohort.
    pub populations: BTreeMap<String, f64>,
}

impl Inputs {
    /// Applies the compliance rule: participants answering fewer than `min_compliance` of their delivered
    /// pings in time (or with none delivered) are left out; 0 keeps everyone.
    pub fn split(
        totals: Vec<Totals>,
        populations: BTreeMap<String, f64>,
        min_compliance: f64,
    ) -> Inputs {
        // Sized up front: grown by doubling, the list of 25,000 held up to 1.5 times itself while it grew.
        let mut kept = Vec::with_capacity(totals.len());
        let mut excluded = Vec::new();
        for t in totals {
            if min_compliance <= 0.0 || t.compliance().is_some_and(|c| c >= min_compliance) {
                kept.push(t);
            } else {
                excluded.push(t);
            }
        }
        Inputs {
            kept,
            excluded,
            populations,
        }
    }

    /// The same participants under another compliance rule.
    pub fn with_min_compliance(&self, min_compliance: f64) -> Inputs {
        let everyone = self.kept.iter().chain(&self.excluded).cloned().collect();
        Inputs::split(everyone, self.populations.clone(), min_compliance)
    }
}

/// Who is not in the estimates, by reason (`left_out` in `layer2 analyze --json`).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct LeftOut {
    /// Participants with no ping delivered at all: no compliance to judge, no oversight data.
    pub no_pings: usize,
    /// Of those, how many are still in the estimates (with a compliance rule of 0).
    pub no_pings_kept: usize,
    /// Participants left out for answering too few of their delivered pings in time.
    pub low_compliance: usize,
}

impl LeftOut {
    /// Counts the reasons of `inputs`.
    pub fn of(inputs: &Inputs) -> LeftOut {
        let silent = |t: &&Totals| t.delivered <= 0.0;
        let dropped = inputs.excluded.iter().filter(silent).count();
        LeftOut {
            no_pings: dropped + inputs.kept.iter().filter(silent).count(),
            no_pings_kept: inputs.kept.iter().filter(silent).count(),
            low_compliance: inputs.excluded.len() - dropped,
        }
    }

    /// The reasons as sentences (none when nobody is concerned).
    pub fn sentences(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.no_pings > 0 {
            let fate = if self.no_pings_kept == self.no_pings {
                "kept (the compliance rule is 0), with no oversight data"
            } else {
                "left out: with no ping there is no compliance to judge"
            };
            out.push(format!(
                "{} participant(s) had no ping delivered: {fate}.",
                self.no_pings
            ));
        }
        if self.low_compliance > 0 {
            out.push(format!(
                "{} participant(s) left out for answering too few pings in time.",
                self.low_compliance
            ));
        }
        out
    }
}

/// The JSON of `layer2 analyze --json`: the profile (`cohorts`, `overall`), who was left out, and the
/// Rao–Wu bootstrap when it was asked for.
#[derive(serde::Serialize)]
pub struct Analysis<'a> {
    #[serde(flatten)]
    pub profile: &'a super::profile::StudyProfile,
    pub left_out: LeftOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<&'a super::bootstrap::BootstrapProfile>,
}

/// The gross hours an offline analysis takes for a band label: its midpoint, or the lower limit of the open
/// top band. `None` if the text is not a band label.
pub fn gross_band_value(label: &str) -> Option<f64> {
    let label = label.trim();
    if let Some(lo) = label.strip_suffix('+') {
        return lo.trim().parse().ok();
    }
    let (lo, hi) = label.split_once(['–', '-'])?;
    let (lo, hi): (f64, f64) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
    Some((lo + hi) / 2.0)
}

/// The cohort every participant is given when `participants.csv` has no cohort column.
pub const ONE_STRATUM: &str = "all";

/// Reads the four files' texts into per-participant totals and applies the compliance rule.
pub fn parse(
    participants: &str,
    diary: &str,
    pings: &str,
    population: &str,
    rules: Rules,
) -> Result<Inputs, String> {
    fn text(t: &str) -> Input<'_> {
        Input::text(t.strip_prefix('\u{feff}').unwrap_or(t).as_bytes())
    }
    parse_inputs(
        text(participants),
        text(diary),
        text(pings),
        text(population),
        rules,
    )
}

/// Reads `participants.csv`, `diary.csv`, `pings.csv` and `population.csv` from a folder, row by row.
pub fn read_dir(dir: &Path, rules: Rules) -> Result<Inputs, String> {
    let open = |name: &str| Input::file(&dir.join(name));
    parse_inputs(
        open("participants.csv")?,
        open("diary.csv")?,
        open("pings.csv")?,
        open("population.csv")?,
        rules,
    )
}

/// One input file (without its byte-order mark): a reader from its start, and the way to read it from its
/// start again, for the csv crate when the fast reader meets a line it leaves to it.
pub struct Input<'a> {
    first: Box<dyn Read + Send + 'a>,
    again: Again<'a>,
}

enum Again<'a> {
    Text(&'a [u8]),
    File(PathBuf),
}

impl<'a> Input<'a> {
    /// A text held in memory.
    pub fn text(text: &'a [u8]) -> Self {
        Input {
            first: Box::new(text),
            again: Again::Text(text),
        }
    }

    /// A file, opened now: a missing file is named before anything is read.
    pub fn file(path: &Path) -> Result<Self, String> {
        Ok(Input {
            first: without_bom(path)?,
            again: Again::File(path.to_path_buf()),
        })
    }

    fn again(self) -> Result<Box<dyn Read + Send + 'a>, String> {
        match self.again {
            Again::Text(text) => Ok(Box::new(text)),
            Again::File(path) => without_bom(&path),
        }
    }
}

/// A file's reader past its UTF-8 byte-order mark, if it has one (Excel writes it).
fn without_bom(path: &Path) -> Result<Box<dyn Read + Send>, String> {
    without_bom_io(path)
        .map(|r| Box::new(r) as Box<dyn Read + Send>)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn without_bom_io(path: &Path) -> std::io::Result<impl Read + Send + use<>> {
    let mut file = std::fs::File::open(path)?;
    let mut head = Vec::with_capacity(3);
    (&mut file).take(3).read_to_end(&mut head)?;
    if head == b"\xEF\xBB\xBF" {
        head.clear();
    }
    Ok(std::io::Cursor::new(head).chain(file))
}

/// Reads the four files row by row, adding each row into its participant's totals as it goes: memory is in
/// proportion to participants, never to rows. Two threads: the pings (the biggest file) on one from the
/// start (two for a big file: see [`split`]), participants.csv then the diary on the other; each adds into its own sums, merged after. A bad
/// file is named as when they were read one after the other: participants.csv, diary, pings, population.
pub fn parse_inputs(
    participants: Input,
    diary: Input,
    pings: Input,
    population: Input,
    rules: Rules,
) -> Result<Inputs, String> {
    let files = [participants, diary, pings, population];
    parse_split(files, rules, split::SPLIT_AT_LEAST)
}

/// [`parse_inputs`], with `pings.csv` read in two halves at once from `split_at_least` bytes (see
/// [`split`]).
fn parse_split(
    [participants, diary, pings, population]: [Input; 4],
    rules: Rules,
    split_at_least: u64,
) -> Result<Inputs, String> {
    // The pings need no participant list while they are read (their ids are matched after).
    let (first, answers) = std::thread::scope(|s| {
        let first = s.spawn(move || -> Result<_, String> {
            let (totals, by_id, one_stratum) = read_file(&Participants, participants)?;
            let tasks = read_file(&Diary { by_id: &by_id }, diary);
            Ok((totals, by_id, one_stratum, tasks))
        });
        let answers = split::read_pings(rules, pings, split_at_least);
        (first.join(), answers)
    });
    let (mut totals, by_id, one_stratum, tasks) =
        first.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    let tasks = tasks?;
    let answers = answers?.matched(&by_id)?;
    for ((t, d), g) in totals.iter_mut().zip(tasks).zip(answers) {
        (t.n_tasks, t.used_tasks) = (d.n, d.used);
        (t.delivered, t.valid, t.used_pings) = (g.delivered, g.valid, g.used);
        (t.oversight_min, t.oversight_by_category) = (g.minutes, g.by_category);
    }

    let mut n = Table::open(
        "population.csv",
        population.first,
        &["cohort", "population"],
    )?;
    let (cohort, size) = (n.header().col("cohort"), n.header().col("population"));
    let mut populations = BTreeMap::new();
    while n.next()? {
        let s = n.num(size, 1.0, 1e9)?;
        let name = n.get(cohort)?;
        if populations.insert(name.to_string(), s).is_some() {
            return Err(n.err(cohort, format!("{name:?} appears twice")));
        }
    }
    if one_stratum {
        populations = BTreeMap::from([(ONE_STRATUM.to_string(), populations.values().sum())]);
    }
    let mut per_cohort: HashMap<&str, usize> = HashMap::new();
    for t in &totals {
        *per_cohort.entry(t.cohort.as_str()).or_default() += 1;
    }
    for (cohort, count) in &per_cohort {
        match populations.get(*cohort) {
            None => {
                return Err(format!(
                    "population.csv: cohort {cohort:?} has no population"
                ));
            }
            Some(&size) if size < *count as f64 => {
                return Err(format!(
                    "population.csv: cohort {cohort:?} has fewer people ({size}) than participants ({count})"
                ));
            }
            _ => {}
        }
    }
    Ok(Inputs::split(totals, populations, rules.min_compliance))
}

/// `participants.csv`: one `Totals` each (no rows counted yet), the place of each id, and whether the file
/// is one stratum (no cohort column).
struct Participants;

impl Pass for Participants {
    type Out = (Vec<Totals>, HashMap<String, usize>, bool);
    const FILE: &'static str = "participants.csv";
    const REQUIRED: &'static [&'static str] = &["id"];

    fn read(&self, p: &mut impl Rows) -> Result<Self::Out, String> {
        let h = p.header();
        // An export leaves out a quasi-identifying column for the whole file (cohort: the file is then one
        // stratum) and gives gross hours as a band; a file of one's own may carry exact hours.
        let one_stratum = !h.has("cohort");
        if !h.has("gross_hours_month") && !h.has("gross_hours_band") {
            return Err(err(
                h.file,
                1,
                "gross_hours_month",
                "this column (or gross_hours_band) is missing",
            ));
        }
        let (id_col, cohort_col, function_col, tenure_col) = (
            h.col("id"),
            h.col("cohort"),
            h.col("function"),
            h.col("tenure"),
        );
        let (exact, band) = (h.col("gross_hours_month"), h.col("gross_hours_band"));
        let mut totals: Vec<Totals> = Vec::new();
        let mut by_id: HashMap<String, usize> = HashMap::new();
        while p.next()? {
            let id = p.get(id_col)?.to_string();
            if id.is_empty() {
                return Err(p.err(id_col, "is empty"));
            }
            if by_id.insert(id.clone(), totals.len()).is_some() {
                return Err(p.err(id_col, format!("{id:?} appears twice")));
            }
            let cohort = if one_stratum {
                ONE_STRATUM.to_string()
            } else {
                p.get(cohort_col)?.to_string()
            };
            if cohort.is_empty() {
                return Err(p.err(cohort_col, "is empty"));
            }
            let gross_hours = if exact.at.is_some() {
                p.num(exact, 0.0, 744.0)?
            } else {
                let v = p.get(band)?;
                gross_band_value(v).ok_or_else(|| {
                    p.err(band, format!("{v:?} is not a band such as 10–20 or 40 +"))
                })?
            };
            totals.push(Totals {
                id,
                cohort,
                function: p.get(function_col)?.to_string(),
                tenure: p.get(tenure_col)?.to_string(),
                gross_hours,
                ..Totals::default()
            });
        }
        Ok((totals, by_id, one_stratum))
    }
}

/// One pass over a file's records: what it adds up from them.
trait Pass {
    type Out;
    const FILE: &'static str;
    const REQUIRED: &'static [&'static str];
    fn read(&self, file: &mut impl Rows) -> Result<Self::Out, String>;
}

/// Reads a file with the fast line reader; at a line it leaves to the csv crate, the file is read again
/// from its start by the csv crate (what was added up so far dropped), so such a file reads exactly as it
/// always did.
fn read_file<P: Pass>(pass: &P, mut input: Input) -> Result<P::Out, String> {
    if let Some(mut lines) = Lines::open(P::FILE, &mut *input.first, P::REQUIRED)? {
        let out = pass.read(&mut lines)?;
        if !lines.odd {
            return Ok(out);
        }
    }
    let mut table = Table::open(P::FILE, input.again()?, P::REQUIRED)?;
    pass.read(&mut table)
}

/// A participant's diary sums: n_i tasks, y_i of them used without major rework.
#[derive(Clone, Default)]
struct Tasks {
    n: f64,
    used: f64,
}

/// `diary.csv`: each task counted, and counted as used for `all` and `most`.
struct Diary<'a> {
    by_id: &'a HashMap<String, usize>,
}

impl Pass for Diary<'_> {
    type Out = Vec<Tasks>;
    const FILE: &'static str = "diary.csv";
    const REQUIRED: &'static [&'static str] = &["participant_id", "outcome"];

    fn read(&self, d: &mut impl Rows) -> Result<Vec<Tasks>, String> {
        let mut sums = vec![Tasks::default(); self.by_id.len()];
        let when = d.header().when_columns("logged_at")?;
        let (who_col, outcome) = (d.header().col("participant_id"), d.header().col("outcome"));
        let mut find = Finder::default();
        while d.next()? {
            let who = find.at(d, who_col, |id| {
                let known = self.by_id.get(id).copied();
                known.ok_or_else(|| d.err(who_col, format!("{id:?} is not in participants.csv")))
            })?;
            d.when(&when)?;
            let used = match d.get(outcome)? {
                "all" | "most" => 1.0,
                "some" | "none" => 0.0,
                other => {
                    return Err(d.err(
                        outcome,
                        format!("{other:?} is not one of all, most, some, none"),
                    ));
                }
            };
            sums[who].n += 1.0;
            sums[who].used += used;
        }
        Ok(sums)
    }
}

/// A participant's ping sums: delivered, valid (answered in time), u_i valid answers reporting copilot
/// use, m_i their oversight minutes and those minutes by category.
#[derive(Clone, Default)]
struct Answers {
    delivered: f64,
    valid: f64,
    used: f64,
    minutes: f64,
    by_category: [f64; 4],
}

/// `pings.csv`, with the rules that judge an answer.
struct Pings {
    rules: Rules,
}

/// What `pings.csv` adds up: sums by participant id as the file names them (participants.csv is read at
/// the same time), and the error that stopped the reading, if one did, with its row.
#[derive(Default)]
struct PingSums {
    /// Each id's place in `sums` and the row it first appears on.
    places: HashMap<String, usize>,
    first_rows: Vec<usize>,
    sums: Vec<Answers>,
    stopped: Option<(usize, String)>,
}

impl PingSums {
    /// The sums in participants.csv's order, or the first problem in the file's order: an id not in
    /// participants.csv is named before anything else on its row, as when each row's id was looked up first.
    fn matched(self, by_id: &HashMap<String, usize>) -> Result<Vec<Answers>, String> {
        let mut out = vec![Answers::default(); by_id.len()];
        let mut unknown: Option<(usize, &str)> = None;
        for (id, &k) in &self.places {
            let row = self.first_rows[k];
            match by_id.get(id) {
                Some(&i) => out[i] = self.sums[k].clone(),
                None if unknown.is_none_or(|(first, _)| row < first) => unknown = Some((row, id)),
                None => {}
            }
        }
        if let Some((row, id)) = unknown
            && self.stopped.as_ref().is_none_or(|(at, _)| row <= *at)
        {
            let msg = format!("{id:?} is not in participants.csv");
            return Err(err(Pings::FILE, row, "participant_id", msg));
        }
        match self.stopped {
            Some((_, e)) => Err(e),
            None => Ok(out),
        }
    }
}

impl Pass for Pings {
    type Out = PingSums;
    const FILE: &'static str = "pings.csv";
    const REQUIRED: &'static [&'static str] = &[
        "participant_id",
        "used_copilot",
        "verification_min",
        "correction_min",
        "context_min",
        "trust_min",
    ];

    fn read(&self, g: &mut impl Rows) -> Result<PingSums, String> {
        let mut out = PingSums::default();
        if let Err(e) = self.rows(g, &mut out) {
            out.stopped = Some((g.row(), e));
        }
        Ok(out)
    }
}

impl Pings {
    /// Adds up the rows into `out` until the end of the file or the first bad row.
    fn rows(&self, g: &mut impl Rows, out: &mut PingSums) -> Result<(), String> {
        let h = g.header();
        // Two shapes: calendar times (`sent_at`, `answered_at`, optional `expires_at`: files of one's own),
        // or the exports' durations (`answered_in_time`, else `answer_delay_min` against `window_min`),
        // which carry no calendar time.
        let durations = h.has("answered_in_time") || h.has("answer_delay_min");
        if !durations {
            for c in ["sent_at", "answered_at"] {
                if !h.has(c) {
                    return Err(err(
                        h.file,
                        1,
                        c,
                        "this column (or the exports' answered_in_time) is missing",
                    ));
                }
            }
        }
        let c = PingCols {
            who: h.col("participant_id"),
            sent: h.col("sent_at"),
            answered: h.col("answered_at"),
            expires: h.col("expires_at"),
            in_time: h.col("answered_in_time"),
            delay: h.col("answer_delay_min"),
            window: h.col("window_min"),
            used: h.col("used_copilot"),
            minutes: [
                h.col("verification_min"),
                h.col("correction_min"),
                h.col("context_min"),
                h.col("trust_min"),
            ],
        };
        let when = When {
            calendar: c.sent,
            day: h.col("study_day"),
            clock: h.col("local_time"),
        };
        let window = chrono::Duration::minutes(self.rules.window_minutes);
        let mut find = Finder::default();
        let sums = &mut out.sums;
        while g.next()? {
            let who = find.at(g, c.who, |id| {
                let next = out.first_rows.len();
                let at = *out.places.entry(id.to_string()).or_insert(next);
                if at == next {
                    out.first_rows.push(g.row());
                    sums.push(Answers::default());
                }
                Ok(at)
            })?;
            sums[who].delivered += 1.0;
            let in_time = if durations {
                g.when(&when)?;
                match in_time_of(g, &c, self.rules.window_minutes)? {
                    Some(v) => v,
                    None => continue, // unanswered
                }
            } else {
                let sent = g.time(c.sent)?;
                if g.get(c.answered)?.is_empty() {
                    continue;
                }
                let answered = g.time(c.answered)?;
                if answered.before(sent) {
                    return Err(g.err(c.answered, "is before sent_at"));
                }
                // The optional `expires_at` is the ping's real deadline; without it, the window counts from
                // `sent_at`.
                if g.get(c.expires)?.is_empty() {
                    answered.since(sent) <= window
                } else {
                    !g.time(c.expires)?.before(answered)
                }
            };
            if !in_time {
                continue; // counts as missed
            }
            sums[who].valid += 1.0;
            match g.get(c.used)? {
                "1" => {
                    let mut minutes = [0.0; 4];
                    for (slot, col) in minutes.iter_mut().zip(c.minutes) {
                        *slot = if g.get(col)?.is_empty() {
                            0.0
                        } else {
                            g.num(col, 0.0, 60.0)?
                        };
                    }
                    if minutes.iter().sum::<f64>() > 60.0 {
                        return Err(g.err(c.minutes[0], "the four minutes add up to more than 60"));
                    }
                    let s = &mut sums[who];
                    s.used += 1.0;
                    s.minutes += minutes.iter().sum::<f64>();
                    for (a, m) in s.by_category.iter_mut().zip(minutes) {
                        *a += m;
                    }
                }
                "0" | "" => {}
                other => {
                    return Err(g.err(c.used, format!("{other:?} is not 1, 0 or empty")));
                }
            }
        }
        Ok(())
    }
}

/// Finds a row's participant. A participant's rows usually come together: the last one found is tried
/// before looking the id up.
#[derive(Default)]
struct Finder {
    last: Option<(String, usize)>,
}

impl Finder {
    /// The place of the participant in column `c`: the last one's, else what `look_up` gives for the id.
    fn at<R: Rows>(
        &mut self,
        t: &R,
        c: Col,
        look_up: impl FnOnce(&str) -> Result<usize, String>,
    ) -> Result<usize, String> {
        let id = t.get(c)?;
        // Compared byte by byte in place: ids are short, and a call to memcmp costs more here.
        if let Some((last, at)) = &self.last
            && last.len() == id.len()
            && last.bytes().zip(id.bytes()).all(|(a, b)| a == b)
        {
            return Ok(*at);
        }
        let at = look_up(id)?;
        self.last = Some((id.to_string(), at));
        Ok(at)
    }
}

/// The columns of `pings.csv` the totals read.
struct PingCols {
    who: Col,
    sent: Col,
    answered: Col,
    expires: Col,
    in_time: Col,
    delay: Col,
    window: Col,
    used: Col,
    minutes: [Col; 4],
}

/// Whether a ping of the durations shape was answered in time: `answered_in_time` (1/0) when given, else
/// `answer_delay_min` within `window_min` (or the run's window); `None` when unanswered.
fn in_time_of(g: &impl Rows, c: &PingCols, window_minutes: i64) -> Result<Option<bool>, String> {
    match g.get(c.in_time)? {
        "1" => return Ok(Some(true)),
        "0" => return Ok(Some(false)),
        "" => {}
        other => {
            return Err(g.err(c.in_time, format!("{other:?} is not 1, 0 or empty")));
        }
    }
    if g.get(c.delay)?.is_empty() {
        return Ok(None);
    }
    let delay = g.num(c.delay, 0.0, 1e9)?;
    let window = if g.get(c.window)?.is_empty() {
        window_minutes as f64
    } else {
        g.num(c.window, 0.0, 1e9)?
    };
    Ok(Some(delay <= window))
}

#[cfg(test)]
mod tests;
