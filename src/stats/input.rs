//! Reading a study's raw data as files (`layer2 analyze DIR`, and the export round trip): per-participant
//! totals with the compliance rule applied. Pure: text in, totals out; errors name the file, row and column.
use chrono::{DateTime, NaiveDateTime, Utc};
use std::collections::{BTreeMap, HashMap};

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
        let (kept, excluded) = totals.into_iter().partition(|t| {
            min_compliance <= 0.0 || t.compliance().is_some_and(|c| c >= min_compliance)
        });
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

fn err(file: &str, row: usize, column: &str, msg: impl std::fmt::Display) -> String {
    if row == 0 {
        format!("{file}, column {column}: {msg}")
    } else {
        format!("{file}, row {row}, column {column}: {msg}")
    }
}

/// A CSV file read one record at a time into a reused buffer: memory stays in proportion to one row, and
/// a field is looked up by a column index found once from the header.
struct Table<R> {
    file: &'static str,
    index: HashMap<String, usize>,
    reader: csv::Reader<R>,
    rec: csv::ByteRecord,
    /// The current record's row (the header is row 1).
    row: usize,
}

/// A column of a [`Table`]: its name (for messages) and its place, if the file has it.
#[derive(Clone, Copy)]
struct Col {
    name: &'static str,
    at: Option<usize>,
}

impl<R: std::io::Read> Table<R> {
    fn open(file: &'static str, input: R, required: &[&str]) -> Result<Self, String> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .buffer_capacity(1 << 16)
            .from_reader(input);
        let headers = reader
            .headers()
            .map_err(|e| format!("{file}: cannot read the header: {e}"))?;
        let index: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_ascii_lowercase(), i))
            .collect();
        for c in required {
            if !index.contains_key(*c) {
                return Err(err(file, 1, c, "this column is missing"));
            }
        }
        Ok(Self {
            file,
            index,
            reader,
            rec: csv::ByteRecord::new(),
            row: 1,
        })
    }

    fn has(&self, column: &str) -> bool {
        self.index.contains_key(column)
    }

    fn col(&self, name: &'static str) -> Col {
        Col {
            name,
            at: self.index.get(name).copied(),
        }
    }

    /// The next record; `false` at the end of the file.
    fn next(&mut self) -> Result<bool, String> {
        let more = self
            .reader
            .read_byte_record(&mut self.rec)
            .map_err(|e| format!("{}, row {}: {e}", self.file, self.row + 1))?;
        if more {
            self.row += 1;
        }
        Ok(more)
    }

    fn err(&self, c: Col, msg: impl std::fmt::Display) -> String {
        err(self.file, self.row, c.name, msg)
    }

    /// A field of the current record, trimmed ("" when the file has no such column).
    fn get(&self, c: Col) -> Result<&str, String> {
        let Some(bytes) = c.at.and_then(|i| self.rec.get(i)) else {
            return Ok("");
        };
        std::str::from_utf8(bytes)
            .map(str::trim)
            .map_err(|_| self.err(c, "is not UTF-8 text"))
    }

    fn num(&self, c: Col, lo: f64, hi: f64) -> Result<f64, String> {
        let v = self.get(c)?;
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && (lo..=hi).contains(&x) => Ok(x),
            _ => Err(self.err(c, format!("{v:?} is not a number from {lo} to {hi}"))),
        }
    }

    fn time(&self, c: Col) -> Result<DateTime<Utc>, String> {
        let v = self.get(c)?;
        parse_time(v).ok_or_else(|| {
            self.err(
                c,
                format!("{v:?} is not a time such as 2027-02-01T09:30:00Z"),
            )
        })
    }

    /// Checks a row's time: `logged_at`/`sent_at` (a calendar time, for files of one's own) when the file has
    /// that column, else the exports' `study_day` and `local_time` (on the participant's own clock).
    fn when(&self, w: &When) -> Result<(), String> {
        if w.calendar.at.is_some() {
            return self.time(w.calendar).map(|_| ());
        }
        let day = self.get(w.day)?;
        if day.parse::<i64>().is_err() {
            return Err(self.err(w.day, format!("{day:?} is not a whole number of days")));
        }
        let clock = self.get(w.clock)?;
        if !clock.is_empty() && parse_clock(clock).is_none() {
            return Err(self.err(
                w.clock,
                format!("{clock:?} is not a time of day such as 09:30"),
            ));
        }
        Ok(())
    }

    /// The columns a row's time is in: `calendar` or, instead, the exports' `study_day` (an error names
    /// `calendar` when neither is there).
    fn when_columns(&self, calendar: &'static str) -> Result<When, String> {
        if self.has(calendar) || self.has("study_day") {
            Ok(When {
                calendar: self.col(calendar),
                day: self.col("study_day"),
                clock: self.col("local_time"),
            })
        } else {
            Err(err(
                self.file,
                1,
                calendar,
                "this column (or the exports' study_day) is missing",
            ))
        }
    }
}

/// Where a row's time is: a calendar column, or the exports' study day and clock time.
struct When {
    calendar: Col,
    day: Col,
    clock: Col,
}

/// `HH:MM` (as chrono's `%H:%M`), read by fixed offsets when it has that exact shape.
fn parse_clock(v: &str) -> Option<chrono::NaiveTime> {
    let b = v.as_bytes();
    if b.len() == 5
        && b[2] == b':'
        && let (Some(h), Some(m)) = (digits(&b[..2]), digits(&b[3..]))
    {
        return chrono::NaiveTime::from_hms_opt(h, m, 0);
    }
    chrono::NaiveTime::parse_from_str(v, "%H:%M").ok()
}

/// Two or four ASCII digits as a number.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// RFC 3339, or a time without offset taken as UTC. The common `2027-02-01T09:30:00Z` is read by fixed
/// offsets (the same instant chrono gives it); anything else goes through chrono.
fn parse_time(v: &str) -> Option<DateTime<Utc>> {
    let b = v.as_bytes();
    if b.len() == 20
        && (b[4], b[7], b[10], b[13], b[16], b[19]) == (b'-', b'-', b'T', b':', b':', b'Z')
    {
        let n = |r: std::ops::Range<usize>| digits(&b[r]);
        if let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) =
            (n(0..4), n(5..7), n(8..10), n(11..13), n(14..16), n(17..19))
            && let Some(t) = chrono::NaiveDate::from_ymd_opt(y as i32, mo, d)
                .and_then(|d| d.and_hms_opt(h, mi, s))
        {
            return Some(t.and_utc());
        }
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            [
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
            .map(|t| t.and_utc())
        })
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
    fn text(t: &str) -> &[u8] {
        t.strip_prefix('\u{feff}').unwrap_or(t).as_bytes()
    }
    parse_from(
        text(participants),
        text(diary),
        text(pings),
        text(population),
        rules,
    )
}

/// Reads the four files (without a byte-order mark) row by row, adding each row into its participant's
/// totals as it goes: memory is in proportion to participants, never to rows.
pub fn parse_from(
    participants: impl std::io::Read,
    diary: impl std::io::Read,
    pings: impl std::io::Read,
    population: impl std::io::Read,
    rules: Rules,
) -> Result<Inputs, String> {
    let mut p = Table::open("participants.csv", participants, &["id"])?;
    // An export leaves out a quasi-identifying column for the whole file (cohort: the file is then one
    // stratum) and gives gross hours as a band; a file of one's own may carry exact hours.
    let one_stratum = !p.has("cohort");
    if !p.has("gross_hours_month") && !p.has("gross_hours_band") {
        return Err(err(
            p.file,
            1,
            "gross_hours_month",
            "this column (or gross_hours_band) is missing",
        ));
    }
    let (id_col, cohort_col, function_col, tenure_col) = (
        p.col("id"),
        p.col("cohort"),
        p.col("function"),
        p.col("tenure"),
    );
    let (exact, band) = (p.col("gross_hours_month"), p.col("gross_hours_band"));
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
            gross_band_value(v)
                .ok_or_else(|| p.err(band, format!("{v:?} is not a band such as 10–20 or 40 +")))?
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
    let mut find = Finder { by_id, last: None };
    let mut d = Table::open("diary.csv", diary, &["participant_id", "outcome"])?;
    let when = d.when_columns("logged_at")?;
    let (who_col, outcome) = (d.col("participant_id"), d.col("outcome"));
    while d.next()? {
        let who = find.at(&d, who_col)?;
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
        totals[who].n_tasks += 1.0;
        totals[who].used_tasks += used;
    }

    let mut g = Table::open(
        "pings.csv",
        pings,
        &[
            "participant_id",
            "used_copilot",
            "verification_min",
            "correction_min",
            "context_min",
            "trust_min",
        ],
    )?;
    // Two shapes: calendar times (`sent_at`, `answered_at`, optional `expires_at`: files of one's own), or
    // the exports' durations (`answered_in_time`, else `answer_delay_min` against `window_min`), which
    // carry no calendar time.
    let durations = g.has("answered_in_time") || g.has("answer_delay_min");
    if !durations {
        for c in ["sent_at", "answered_at"] {
            if !g.has(c) {
                return Err(err(
                    g.file,
                    1,
                    c,
                    "this column (or the exports' answered_in_time) is missing",
                ));
            }
        }
    }
    let c = PingCols {
        who: g.col("participant_id"),
        sent: g.col("sent_at"),
        answered: g.col("answered_at"),
        expires: g.col("expires_at"),
        in_time: g.col("answered_in_time"),
        delay: g.col("answer_delay_min"),
        window: g.col("window_min"),
        used: g.col("used_copilot"),
        minutes: [
            g.col("verification_min"),
            g.col("correction_min"),
            g.col("context_min"),
            g.col("trust_min"),
        ],
    };
    let when = When {
        calendar: c.sent,
        day: g.col("study_day"),
        clock: g.col("local_time"),
    };
    let window = chrono::Duration::minutes(rules.window_minutes);
    while g.next()? {
        let who = find.at(&g, c.who)?;
        totals[who].delivered += 1.0;
        let in_time = if durations {
            g.when(&when)?;
            match in_time_of(&g, &c, rules.window_minutes)? {
                Some(v) => v,
                None => continue, // unanswered
            }
        } else {
            let sent = g.time(c.sent)?;
            if g.get(c.answered)?.is_empty() {
                continue;
            }
            let answered = g.time(c.answered)?;
            if answered < sent {
                return Err(g.err(c.answered, "is before sent_at"));
            }
            // The optional `expires_at` is the ping's real deadline; without it, the window counts from
            // `sent_at`.
            if g.get(c.expires)?.is_empty() {
                answered - sent <= window
            } else {
                answered <= g.time(c.expires)?
            }
        };
        if !in_time {
            continue; // counts as missed
        }
        totals[who].valid += 1.0;
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
                let t = &mut totals[who];
                t.used_pings += 1.0;
                t.oversight_min += minutes.iter().sum::<f64>();
                for (a, m) in t.oversight_by_category.iter_mut().zip(minutes) {
                    *a += m;
                }
            }
            "0" | "" => {}
            other => {
                return Err(g.err(c.used, format!("{other:?} is not 1, 0 or empty")));
            }
        }
    }

    let mut n = Table::open("population.csv", population, &["cohort", "population"])?;
    let (cohort, size) = (n.col("cohort"), n.col("population"));
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

/// Finds a row's participant. A participant's rows usually come together: the last one found is tried
/// before the map.
struct Finder {
    by_id: HashMap<String, usize>,
    last: Option<(String, usize)>,
}

impl Finder {
    fn at<R: std::io::Read>(&mut self, t: &Table<R>, c: Col) -> Result<usize, String> {
        let id = t.get(c)?;
        if let Some((last, at)) = &self.last
            && last == id
        {
            return Ok(*at);
        }
        let at = self
            .by_id
            .get(id)
            .copied()
            .ok_or_else(|| t.err(c, format!("{id:?} is not in participants.csv")))?;
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
fn in_time_of<R: std::io::Read>(
    g: &Table<R>,
    c: &PingCols,
    window_minutes: i64,
) -> Result<Option<bool>, String> {
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

/// Reads `participants.csv`, `diary.csv`, `pings.csv` and `population.csv` from a folder, row by row.
pub fn read_dir(dir: &std::path::Path, rules: Rules) -> Result<Inputs, String> {
    let open = |name: &str| {
        let path = dir.join(name);
        without_bom(std::fs::File::open(&path)).map_err(|e| format!("{}: {e}", path.display()))
    };
    parse_from(
        open("participants.csv")?,
        open("diary.csv")?,
        open("pings.csv")?,
        open("population.csv")?,
        rules,
    )
}

/// A file's reader past its UTF-8 byte-order mark, if it has one (Excel writes it).
fn without_bom(file: std::io::Result<std::fs::File>) -> std::io::Result<impl std::io::Read> {
    use std::io::Read;
    let mut file = file?;
    let mut head = Vec::with_capacity(3);
    (&mut file).take(3).read_to_end(&mut head)?;
    if head == b"\xEF\xBB\xBF" {
        head.clear();
    }
    Ok(std::io::Cursor::new(head).chain(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTICIPANTS: &str = "id,cohort,function,tenure,gross_hours_month\na,heavy,Sales,1-3 y,10\nb,heavy,Sales,1-3 y,20\n";
    const POPULATION: &str = "cohort,population\nheavy,100\n";

    #[test]
    fn an_expires_at_column_is_the_deadline_instead_of_the_window() {
        let diary = "participant_id,logged_at,outcome\na,2027-02-01T09:00:00Z,all\n";
        // Answered 45 minutes after sending: late for the 30-minute window, in time for its 60-minute expiry;
        // the second is answered a minute after its own deadline.
        let pings = "participant_id,sent_at,answered_at,used_copilot,verification_min,correction_min,context_min,trust_min,expires_at\n\
                     a,2027-02-01T09:00:00Z,2027-02-01T09:45:00Z,1,4,,,,2027-02-01T10:00:00Z\n\
                     a,2027-02-01T12:00:00Z,2027-02-01T12:20:00Z,1,4,,,,2027-02-01T12:19:00Z\n\
                     b,2027-02-01T09:00:00Z,2027-02-01T09:45:00Z,0,,,,,\n";
        let i = parse(
            PARTICIPANTS,
            diary,
            pings,
            POPULATION,
            Rules {
                min_compliance: 0.0,
                ..Rules::default()
            },
        )
        .unwrap();
        let valid = |id: &str| i.kept.iter().find(|t| t.id == id).unwrap().valid;
        assert_eq!(
            (valid("a"), valid("b")),
            (1.0, 0.0),
            "b has no deadline: the window rules"
        );
        let bad = pings.replace("2027-02-01T12:19:00Z", "noon");
        assert!(
            parse(PARTICIPANTS, diary, &bad, POPULATION, Rules::default())
                .unwrap_err()
                .contains("pings.csv, row 3, column expires_at")
        );
    }

    #[test]
    fn the_exports_study_days_and_durations_give_the_same_totals_as_calendar_times() {
        let times = parse(
            PARTICIPANTS,
            "participant_id,logged_at,outcome\na,2027-02-01T09:00:00Z,all\nb,2027-02-02T10:00:00Z,some\n",
            "participant_id,sent_at,answered_at,used_copilot,verification_min,correction_min,context_min,trust_min,expires_at\n\
             a,2027-02-01T09:00:00Z,2027-02-01T09:45:00Z,1,4,,,,2027-02-01T10:00:00Z\n\
             a,2027-02-01T12:00:00Z,2027-02-01T12:20:00Z,1,4,,,,2027-02-01T12:19:00Z\n\
             a,2027-02-01T14:00:00Z,,,,,,,2027-02-01T15:00:00Z\n\
             b,2027-02-01T09:00:00Z,2027-02-01T09:05:00Z,0,,,,,2027-02-01T10:00:00Z\n",
            POPULATION,
            Rules::default(),
        )
        .unwrap();
        let diary = "participant_id,study_day,local_time,outcome\na,2,09:00,all\nb,3,10:00,some\n";
        let pings = "participant_id,study_day,local_time,window_min,answer_delay_min,answered_in_time,used_copilot,verification_min,correction_min,context_min,trust_min\n\
                     a,2,10:00,60,45,1,1,4,,,\n\
                     a,2,13:00,19,20,0,1,4,,,\n\
                     a,2,15:00,60,,,,,,,\n\
                     b,2,10:00,60,5,1,0,,,,\n";
        let days = parse(PARTICIPANTS, diary, pings, POPULATION, Rules::default()).unwrap();
        assert_eq!(times.kept, days.kept);
        assert_eq!(times.excluded, days.excluded);
        let a = days.kept.iter().find(|t| t.id == "a").unwrap();
        assert_eq!((a.delivered, a.valid, a.oversight_min), (3.0, 1.0, 4.0));
        // Without answered_in_time, the delay is judged against the ping's own window.
        let no_flag = pings
            .replace(",answered_in_time,", ",x,")
            .replace(",1,1,4", ",,1,4")
            .replace(",0,1,4", ",,1,4")
            .replace(",1,0,", ",,0,");
        let again = parse(PARTICIPANTS, diary, &no_flag, POPULATION, Rules::default()).unwrap();
        assert_eq!(times.kept, again.kept);
        let bad = diary.replace("a,2,09:00", "a,second,09:00");
        assert_eq!(
            parse(PARTICIPANTS, &bad, pings, POPULATION, Rules::default()).unwrap_err(),
            "diary.csv, row 2, column study_day: \"second\" is not a whole number of days"
        );
        let bad = pings.replace("a,2,13:00", "a,2,1pm");
        assert!(
            parse(PARTICIPANTS, diary, &bad, POPULATION, Rules::default())
                .unwrap_err()
                .starts_with("pings.csv, row 3, column local_time")
        );
    }

    #[test]
    fn totals_follow_the_spec_and_late_answers_are_missed() {
        let diary = "participant_id,logged_at,outcome\na,2027-02-01T09:00:00Z,all\na,2027-02-01T10:00:00Z,some\nb,2027-02-01T10:00:00Z,most\n";
        let pings = "participant_id,sent_at,answered_at,used_copilot,verification_min,correction_min,context_min,trust_min\n\
                     a,2027-02-01T09:00:00Z,2027-02-01T09:10:00Z,1,5,3,,1\n\
                     a,2027-02-01T12:00:00Z,2027-02-01T12:45:00Z,1,9,9,9,9\n\
                     a,2027-02-01T15:00:00Z,,,,,,\n\
                     b,2027-02-01T09:00:00Z,2027-02-01T09:05:00Z,0,,,,\n";
        let i = parse(PARTICIPANTS, diary, pings, POPULATION, Rules::default()).unwrap();
        let a = i.kept.iter().find(|t| t.id == "a").unwrap();
        assert_eq!(
            (
                a.n_tasks,
                a.used_tasks,
                a.delivered,
                a.valid,
                a.used_pings,
                a.oversight_min
            ),
            (2.0, 1.0, 3.0, 1.0, 1.0, 9.0)
        );
        assert_eq!(a.oversight_by_category, [5.0, 3.0, 0.0, 1.0]);
        assert_eq!(
            i.kept.len(),
            2,
            "a answered 1 of 3 in time: exactly 1/3 is kept"
        );
        let strict = parse(
            PARTICIPANTS,
            diary,
            pings,
            POPULATION,
            Rules {
                window_minutes: 5,
                min_compliance: 0.5,
            },
        )
        .unwrap();
        assert_eq!(
            strict
                .excluded
                .iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>(),
            ["a"]
        );
    }

    #[test]
    fn bad_files_name_the_file_row_and_column() {
        let diary = "participant_id,logged_at,outcome\na,2027-02-01T09:00:00Z,lots\n";
        let pings = "participant_id,sent_at,answered_at,used_copilot,verification_min,correction_min,context_min,trust_min\n";
        let e = parse(PARTICIPANTS, diary, pings, POPULATION, Rules::default()).unwrap_err();
        assert_eq!(
            e,
            "diary.csv, row 2, column outcome: \"lots\" is not one of all, most, some, none"
        );
        let e = parse(
            PARTICIPANTS,
            "participant_id,outcome\n",
            pings,
            POPULATION,
            Rules::default(),
        )
        .unwrap_err();
        assert!(e.starts_with("diary.csv, row 1, column logged_at"), "{e}");
        let e = parse(
            PARTICIPANTS,
            "participant_id,logged_at,outcome\nzz,2027-02-01,all\n",
            pings,
            POPULATION,
            Rules::default(),
        )
        .unwrap_err();
        assert!(e.contains("\"zz\" is not in participants.csv"), "{e}");
        let e = parse(
            PARTICIPANTS,
            "participant_id,logged_at,outcome\n",
            pings,
            "cohort,population\nlight,5\n",
            Rules::default(),
        )
        .unwrap_err();
        assert!(e.contains("no population"), "{e}");
    }
}
