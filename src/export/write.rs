//! Writing an export: CSV (RFC 4180, formula-neutralised text), JSON and an Excel workbook. Pure.
use super::codebook::{Column, columns};
use super::{ControlOut, DiaryOut, ExportData, PingOut, summary_json};
use std::borrow::Cow;

/// A cell: text is neutralised in CSV, numbers stay numbers.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// Whole number.
    Int(i64),
    /// Number.
    Num(f64),
    /// A time of day in whole minutes after midnight: "HH:MM" in a CSV, a time cell (hh:mm) in the workbook.
    Clock(u16),
    /// Empty.
    Empty,
}

/// A time of day written "HH:MM" as a `Cell::Clock` (text if it is not one).
fn clock(s: &str) -> Cell {
    chrono::NaiveTime::parse_from_str(s, "%H:%M").map_or_else(
        |_| text(s),
        |t| {
            use chrono::Timelike;
            Cell::Clock((t.hour() * 60 + t.minute()) as u16)
        },
    )
}

/// One file or sheet.
pub struct Table {
    /// File name (`participants.csv`).
    pub name: &'static str,
    /// Column names, from the codebook.
    pub header: Vec<&'static str>,
    /// Rows, in header order.
    pub rows: Vec<Vec<Cell>>,
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

fn opt_int(v: Option<i64>) -> Cell {
    v.map_or(Cell::Empty, Cell::Int)
}

fn opt_num(v: Option<f64>) -> Cell {
    v.map_or(Cell::Empty, Cell::Num)
}

fn opt_text(v: &Option<String>) -> Cell {
    v.as_deref().map_or(Cell::Empty, text)
}

/// Every table of an export, the codebook last, each with the codebook's columns.
pub fn tables(d: &ExportData) -> Vec<Table> {
    tables_for(d, None)
}

/// [`tables`], with the participants' rows (the only large table held in memory) built only when `only`
/// is `None` or names `participants.csv`: another file's download does not build them.
pub fn tables_for(d: &ExportData, only: Option<&str>) -> Vec<Table> {
    let participant_rows = only.is_none_or(|name| name == "participants.csv");
    let book = columns(d.study.descriptions, &d.columns);
    let header = |file: &str| -> Vec<&'static str> {
        book.iter()
            .filter(|c| c.file == file)
            .map(|c| c.column)
            .collect()
    };
    let mut out = vec![
        Table {
            name: "participants.csv",
            header: header("participants.csv"),
            rows: d
                .participants
                .iter()
                .filter(|_| participant_rows)
                .map(|p| {
                    // A column the file does not publish is absent from every row (never blank in some).
                    std::iter::once(text(&p.id))
                        .chain(
                            [&p.cohort, &p.function, &p.tenure]
                                .into_iter()
                                .flatten()
                                .map(|v| text(v)),
                        )
                        .chain(std::iter::once(text(&p.gross_hours_band)))
                        .collect()
                })
                .collect(),
        },
        // The raw tables' rows are streamed (`service::write_file`): here their headers only.
        Table {
            name: "diary.csv",
            header: header("diary.csv"),
            rows: vec![],
        },
        Table {
            name: "pings.csv",
            header: header("pings.csv"),
            rows: vec![],
        },
        Table {
            name: "population.csv",
            header: header("population.csv"),
            rows: d
                .population
                .iter()
                .map(|(c, n)| vec![text(c), Cell::Int(*n)])
                .collect(),
        },
        Table {
            name: "control.csv",
            header: header("control.csv"),
            rows: vec![],
        },
        Table {
            name: "summary.csv",
            header: header("summary.csv"),
            rows: d
                .summary
                .iter()
                .map(|s| {
                    vec![
                        text(&s.group),
                        text(&s.name),
                        Cell::Int(s.n as i64),
                        text(&s.metric),
                        opt_num(s.estimate),
                        opt_num(s.se),
                        opt_num(s.df),
                        opt_num(s.ci_lower),
                        opt_num(s.ci_upper),
                        opt_text(&s.interval.map(|i| i.method.key().to_string())),
                        opt_num(s.interval.map(|i| i.lower)),
                        opt_num(s.interval.map(|i| i.upper)),
                        Cell::Int(i64::from(s.suppressed)),
                    ]
                })
                .collect(),
        },
    ];
    let mut rows: Vec<Vec<Cell>> = book
        .iter()
        .map(|c: &Column| {
            [c.file, c.column, c.kind, c.unit, c.allowed, c.description]
                .iter()
                .map(|s| text(s))
                .collect()
        })
        .collect();
    // One line on erasures, so a reader knows the files leave people out on purpose.
    rows.push(vec![
        text("(this export)"),
        text("erased_participants"),
        text("integer"),
        text("people"),
        text(""),
        text(&format!(
            "{} participant(s) were erased (at their own request or by an admin) before this export; none of their data is in any file.",
            d.study.erased_participants
        )),
    ]);
    out.push(Table {
        name: "codebook.csv",
        header: vec!["file", "column", "type", "unit", "allowed", "description"],
        rows,
    });
    out
}

/// A diary.csv row.
pub fn diary_row(e: &DiaryOut, descriptions: bool) -> Vec<Cell> {
    let mut r = vec![
        text(&e.participant_id),
        Cell::Int(e.study_day),
        clock(&e.local_time),
        text(&e.outcome),
        text(&e.category),
        Cell::Int(e.minutes_with_ai),
        Cell::Int(e.minutes_without_ai),
    ];
    if descriptions {
        r.push(opt_text(&e.description));
    }
    r
}

/// A pings.csv row.
pub fn ping_row(g: &PingOut) -> Vec<Cell> {
    vec![
        text(&g.participant_id),
        Cell::Int(g.study_day),
        clock(&g.local_time),
        Cell::Int(g.window_min),
        opt_int(g.answer_delay_min),
        opt_int(g.answered_in_time.map(i64::from)),
        opt_int(g.used_copilot.map(i64::from)),
        opt_int(g.was_working.map(i64::from)),
        opt_int(g.verification_min),
        opt_int(g.correction_min),
        opt_int(g.context_min),
        opt_int(g.trust_min),
    ]
}

/// A control.csv row.
pub fn control_row(t: &ControlOut, descriptions: bool) -> Vec<Cell> {
    let mut r = vec![
        text(&t.participant_id),
        Cell::Int(t.study_day),
        clock(&t.local_time),
        text(&t.category),
        Cell::Int(t.minutes),
    ];
    if descriptions {
        r.push(opt_text(&t.description));
    }
    r
}

/// A text cell a spreadsheet could run as a formula (=, +, -, @, tab, carriage return first, or the
/// full-width ＝ ＋ － ＠) gets a leading apostrophe; anything else is unchanged.
pub fn neutralise(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        // Full-width forms too: some spreadsheet locales read them as formula starts.
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠') => {
            Cow::Owned(format!("'{s}"))
        }
        _ => Cow::Borrowed(s),
    }
}

/// One table as RFC 4180 CSV (quoted where needed, CRLF line ends).
pub fn csv(t: &Table) -> Vec<u8> {
    let mut out = csv_rows(std::slice::from_ref(
        &t.header.iter().map(|h| text(h)).collect(),
    ));
    out.extend(csv_rows(&t.rows));
    out
}

/// Rows as CSV lines, without a header: a streamed file is its header's `csv` then slice after slice.
pub fn csv_rows(rows: &[Vec<Cell>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(Vec::new());
    // Writing to memory cannot fail.
    for row in rows {
        let fields: Vec<Cow<'_, str>> = row
            .iter()
            .map(|c| match c {
                Cell::Text(s) => neutralise(s),
                Cell::Int(i) => Cow::Owned(i.to_string()),
                Cell::Num(x) => Cow::Owned(x.to_string()),
                Cell::Clock(m) => Cow::Owned(format!("{:02}:{:02}", m / 60, m % 60)),
                Cell::Empty => Cow::Borrowed(""),
            })
            .collect();
        let _ = w.write_record(fields.iter().map(|f| f.as_bytes()));
    }
    w.into_inner().unwrap_or_default()
}

/// The JSON document's three raw arrays, streamed from the database in place of their markers in
/// [`json_frame`].
pub const JSON_STREAMED: [&str; 3] = ["diary", "pings", "control"];

/// Every array [`json_frame`] leaves a marker for: the raw ones, and the participants (in memory already,
/// but written a slice at a time too: as one `serde_json::Value` they took 16 MB at 25,000 participants,
/// and as pretty text another 8).
pub const JSON_ARRAYS: [&str; 4] = ["participants", "diary", "pings", "control"];

/// The whole export as one JSON document (the summary also in `layer2 analyze --json`'s shape), pretty
/// printed, split where each of [`JSON_ARRAYS`] goes: text, array, text, … (`serde_json`'s key order).
pub fn json_frame(d: &ExportData) -> Vec<(String, Option<&'static str>)> {
    let marker = |name: &str| format!("\u{1}{name}\u{1}");
    let doc = serde_json::json!({
        "study": d.study,
        "participants": marker("participants"),
        "diary": marker("diary"),
        "pings": marker("pings"),
        "population": d.population.iter().map(|(c, n)| serde_json::json!({"cohort": c, "population": n})).collect::<Vec<_>>(),
        "control": marker("control"),
        "summary": d.summary,
        "profile": summary_json(&d.summary),
        "codebook": columns(d.study.descriptions, &d.columns),
        "tco": d.tco,
    });
    let mut rest = serde_json::to_string_pretty(&doc).unwrap_or_default();
    let mut parts = vec![];
    loop {
        // The next marker (a control character is escaped in JSON text: no cell can look like one).
        let next = JSON_ARRAYS
            .iter()
            .filter_map(|n| {
                rest.find(&format!("\"\\u0001{n}\\u0001\""))
                    .map(|at| (at, *n))
            })
            .min();
        match next {
            Some((at, name)) => {
                let after = rest.split_off(at);
                parts.push((rest, Some(name)));
                rest = after[name.len() + 14..].to_string();
            }
            None => {
                parts.push((rest, None));
                return parts;
            }
        }
    }
}

/// One of the JSON document's streamed arrays, written a slice at a time as `serde_json`'s pretty printer
/// would write it whole (two levels deep).
#[derive(Default)]
pub struct JsonArray {
    started: bool,
}

impl JsonArray {
    /// The next items.
    pub fn items<T: serde::Serialize>(&mut self, items: &[T]) -> Vec<u8> {
        let mut out = String::new();
        for item in items {
            out.push_str(if self.started { ",\n    " } else { "[\n    " });
            self.started = true;
            // Through a `Value`, as the whole document goes: its objects list their keys in order.
            let one = serde_json::to_value(item)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_default();
            // Strings are escaped: a line break in the text is always the printer's own.
            out.push_str(&one.replace('\n', "\n    "));
        }
        out.into_bytes()
    }

    /// The end of the array.
    pub fn end(self) -> &'static str {
        if self.started { "\n  ]" } else { "[]" }
    }
}

/// The workbook: a sheet per table, text written as text (never as a formula), numbers as numbers; and the
/// `cost_per_unit` sheet when the export carries a cost per unit.
/// `raw`: the rows of the streamed tables (diary.csv, pings.csv, control.csv), read by the caller.
pub fn xlsx(d: &ExportData, raw: &[(&str, Vec<Vec<Cell>>)]) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::Workbook;
    let mut book = Workbook::new();
    for t in tables(d) {
        let rows = raw
            .iter()
            .find(|(name, _)| *name == t.name)
            .map_or(&t.rows, |(_, rows)| rows);
        sheet(&mut book, t.name.trim_end_matches(".csv"), &t.header, rows)?;
    }
    if let Some(t) = &d.tco {
        sheet(&mut book, "cost_per_unit", &TCO_HEADER, &tco_rows(t))?;
    }
    book.save_to_buffer().map_err(|e| e.to_string())
}

/// One sheet: a bold header row frozen at the top, then the rows.
fn sheet(
    book: &mut rust_xlsxwriter::Workbook,
    name: &str,
    header: &[&str],
    rows: &[Vec<Cell>],
) -> Result<(), String> {
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let time = rust_xlsxwriter::Format::new().set_num_format("hh:mm");
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let sheet = book.add_worksheet();
    sheet.set_name(name).map_err(e)?;
    for (c, h) in header.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(e)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => sheet.write_string(r, c, s).map(|_| ()),
                Cell::Int(i) => sheet.write_number(r, c, *i as f64).map(|_| ()),
                Cell::Num(x) => sheet.write_number(r, c, *x).map(|_| ()),
                // Excel keeps a time of day as a fraction of a day.
                Cell::Clock(m) => sheet
                    .write_number_with_format(r, c, f64::from(*m) / 1440.0, &time)
                    .map(|_| ()),
                Cell::Empty => Ok(()),
            }
            .map_err(e)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(e)?;
    Ok(())
}

/// The columns of the workbook's `cost_per_unit` sheet.
pub const TCO_HEADER: [&str; 8] = [
    "section",
    "item",
    "layer",
    "estimate",
    "ci_lower",
    "ci_upper",
    "currency",
    "source_or_note",
];

/// The `cost_per_unit` sheet: the unit, each line and layer per month, the total, the cost per unit
/// beside the cost before AI and the vendor's implied figure, then each outcome class (numbers as numbers,
/// the same as `export.json`'s `tco` object).
pub fn tco_rows(t: &crate::tco::view::TcoOut) -> Vec<Vec<Cell>> {
    use crate::tco::view::Amount;
    let cur = || text(&t.currency);
    let amount = |section: &str, item: &str, layer: &str, a: Option<&Amount>, note: &str| {
        let (e, l, h) = match a {
            Some(a) => (
                Cell::Num(a.estimate),
                Cell::Num(a.ci_lower),
                Cell::Num(a.ci_upper),
            ),
            None => (Cell::Empty, Cell::Empty, Cell::Empty),
        };
        vec![
            text(section),
            text(item),
            text(layer),
            e,
            l,
            h,
            cur(),
            text(note),
        ]
    };
    let mut rows = vec![];
    if let Some(s) = &t.stack {
        rows.push(vec![
            text("unit"),
            text(&s.unit),
            Cell::Empty,
            Cell::Num(s.units_per_month),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            text(&format!("units per month; {}", s.units_source)),
        ]);
        for l in &s.lines {
            let note = match &l.not_counted {
                Some(why) => format!("not counted: {why}"),
                None => l.source.clone(),
            };
            rows.push(amount(
                "line per month",
                &l.label,
                &l.layer,
                l.monthly.as_ref(),
                &note,
            ));
        }
        for l in &s.layers {
            rows.push(amount(
                "layer per month",
                &l.label,
                &l.layer,
                Some(&l.monthly),
                "",
            ));
        }
        for l in &s.layers {
            rows.push(amount(
                "layer per unit",
                &l.label,
                &l.layer,
                Some(&l.per_unit),
                "",
            ));
        }
        rows.push(amount(
            "total per month",
            "total AI factory cost",
            "",
            Some(&s.total_monthly),
            "",
        ));
        rows.push(amount(
            "cost per unit",
            &format!("cost per {}", s.unit),
            "+1",
            Some(&s.cost_per_unit),
            "95% interval carried through from the measured layers",
        ));
        rows.push(amount(
            "cost per unit before AI",
            &format!("cost per {} before AI", s.unit),
            "",
            s.cost_per_unit_before_ai.as_ref(),
            &s.cost_per_unit_before_ai_source,
        ));
        let vendor = s.vendor_implied_per_unit.map(|v| Amount {
            estimate: v,
            ci_lower: v,
            ci_upper: v,
        });
        rows.push(amount(
            "vendor implied per unit",
            &format!("cost per {} if the vendor's hours were all saved", s.unit),
            "",
            vendor.as_ref(),
            "",
        ));
    }
    for c in &t.outcome_classes {
        let dapm: Vec<String> = c
            .dapm
            .iter()
            .map(|d| match d.met {
                None => format!("{}: not recorded", d.condition),
                Some(met) => format!(
                    "{}: {} (confirmed by {}; {})",
                    d.condition,
                    if met { "met" } else { "not met" },
                    d.confirmed_by.as_deref().unwrap_or(""),
                    d.evidence.as_deref().unwrap_or("")
                ),
            })
            .collect();
        let mut note = format!("claimed {}; {}", c.class, c.reason);
        if let Some(w) = &c.why {
            note.push_str("; ");
            note.push_str(w);
        }
        if !dapm.is_empty() {
            note.push_str("; DAPM: ");
            note.push_str(&dapm.join("; "));
        }
        rows.push(vec![
            text(&format!("outcome class: {}", c.valued_as)),
            text(&c.category),
            Cell::Empty,
            c.minutes_per_task.map_or(Cell::Empty, Cell::Num),
            Cell::Empty,
            Cell::Empty,
            cur(),
            text(&format!(
                "minutes per task; worth {} per task; {note}",
                c.value_per_task.map_or("–".into(), |v| format!("{v:.2}"))
            )),
        ]);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::*;

    fn diary(descriptions: bool) -> DiaryOut {
        DiaryOut {
            participant_id: "ab12".into(),
            study_day: 3,
            local_time: "09:00".into(),
            outcome: "most".into(),
            category: "Code, \"review\"".into(),
            minutes_with_ai: 10,
            minutes_without_ai: 30,
            description: descriptions.then(|| "@SUM(1)\nline two".into()),
        }
    }

    fn sample(descriptions: bool) -> ExportData {
        ExportData {
            study: StudyOut {
                erased_participants: 0,
                id: 1,
                name: "W".into(),
                vendor: "V".into(),
                product: "P".into(),
                model_version: "M".into(),
                window_minutes: 60,
                min_cell_size: 5,
                exported_at: "2027-01-01T00:00:00Z".into(),
                descriptions,
            },
            columns: Published {
                cohort: true,
                function: true,
                tenure: true,
            },
            participants: vec![ParticipantOut {
                id: "ab12".into(),
                cohort: Some("heavy".into()),
                function: Some("=HYPERLINK(\"http://x\")".into()),
                tenure: Some("1–3 y".into()),
                gross_hours_band: "-0.5".into(),
            }],
            rows: Rows::default(),
            population: vec![("heavy".into(), 10)],
            tco: None,
            summary: vec![SummaryOut {
                group: "overall".into(),
                name: "overall".into(),
                n: 1,
                metric: "vendor_gap".into(),
                estimate: Some(-0.5),
                se: None,
                df: None,
                ci_lower: None,
                ci_upper: None,
                interval: None,
                suppressed: false,
            }],
        }
    }

    #[test]
    fn formulas_are_neutralised_numbers_stay_numbers_and_quoting_is_rfc_4180() {
        for (s, want) in [
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@x", "'@x"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("＝1+1", "'＝1+1"),
            ("＠x", "'＠x"),
            ("ok", "ok"),
            ("", ""),
        ] {
            assert_eq!(neutralise(s), want);
        }
        let d = sample(true);
        let t = tables(&d);
        let p = String::from_utf8(csv(&t[0])).unwrap();
        assert_eq!(
            p,
            "id,cohort,function,tenure,gross_hours_band\r\nab12,heavy,\"'=HYPERLINK(\"\"http://x\"\")\",1–3 y,'-0.5\r\n",
            "text neutralised and quoted; a band is text"
        );
        let summary = String::from_utf8(csv(&t[5])).unwrap();
        assert!(
            summary.contains(",vendor_gap,-0.5,"),
            "the negative number is left a number: {summary}"
        );
        let diary = String::from_utf8(csv(&Table {
            rows: vec![diary_row(&diary(true), true)],
            ..tables(&d).remove(1)
        }))
        .unwrap();
        assert!(diary.contains("\"Code, \"\"review\"\"\""), "{diary}");
        assert!(diary.contains("\"'@SUM(1)\nline two\""), "{diary}");
    }

    #[test]
    fn every_table_has_the_codebooks_columns_and_descriptions_only_when_asked() {
        for desc in [false, true] {
            let d = sample(desc);
            let book = columns(desc, &d.columns);
            for t in tables(&d).iter().filter(|t| t.name != "codebook.csv") {
                let documented: Vec<&str> = book
                    .iter()
                    .filter(|c| c.file == t.name)
                    .map(|c| c.column)
                    .collect();
                assert_eq!(t.header, documented, "{}", t.name);
                for row in &t.rows {
                    assert_eq!(row.len(), t.header.len(), "{}", t.name);
                }
            }
            let diary_t = &tables(&d)[1];
            assert_eq!(diary_t.header.contains(&"description"), desc);
            assert_eq!(
                diary_row(&diary(desc), desc).len(),
                diary_t.header.len(),
                "a streamed row has the header's columns"
            );
            let json = String::from_utf8(streamed_json(&d, &[diary(desc)])).unwrap();
            assert_eq!(json.contains("line two"), desc);
        }
    }

    /// The JSON document as the stream writes it: the frame, each streamed array given in two slices.
    fn streamed_json(d: &ExportData, diary: &[DiaryOut]) -> Vec<u8> {
        let mut out = vec![];
        for (text, array) in json_frame(d) {
            out.extend(text.into_bytes());
            if let Some(name) = array {
                let mut a = JsonArray::default();
                if name == "diary" {
                    let (first, rest) = diary.split_at(diary.len().min(1));
                    out.extend(a.items(first));
                    out.extend(a.items(rest));
                }
                if name == "participants" {
                    let (first, rest) = d.participants.split_at(d.participants.len().min(1));
                    out.extend(a.items(first));
                    out.extend(a.items(rest));
                }
                out.extend(a.end().as_bytes());
            }
        }
        out
    }

    #[test]
    fn the_streamed_json_is_the_document_serde_would_write_whole() {
        let mut d = sample(true);
        d.participants.push(d.participants[0].clone());
        let rows = [diary(true), diary(true), diary(true)];
        let whole = serde_json::json!({
            "study": d.study,
            "participants": d.participants,
            "diary": rows,
            "pings": Vec::<PingOut>::new(),
            "population": d.population.iter().map(|(c, n)| serde_json::json!({"cohort": c, "population": n})).collect::<Vec<_>>(),
            "control": Vec::<ControlOut>::new(),
            "summary": d.summary,
            "profile": summary_json(&d.summary),
            "codebook": columns(d.study.descriptions, &d.columns),
            "tco": d.tco,
        });
        let streamed = String::from_utf8(streamed_json(&d, &rows)).unwrap();
        assert_eq!(streamed, serde_json::to_string_pretty(&whole).unwrap());
    }

    #[test]
    fn a_column_the_file_does_not_publish_is_in_no_row_and_not_in_the_codebook() {
        let mut d = sample(false);
        d.columns = Published {
            cohort: true,
            function: false,
            tenure: false,
        };
        d.participants[0].function = None;
        d.participants[0].tenure = None;
        let t = tables(&d);
        assert_eq!(t[0].header, ["id", "cohort", "gross_hours_band"]);
        assert!(t[0].rows.iter().all(|r| r.len() == 3));
        let book = String::from_utf8(csv(t.last().unwrap())).unwrap();
        assert!(
            !book.contains("participants.csv,function")
                && !book.contains("participants.csv,tenure")
        );
        assert!(book.contains("participants.csv,cohort"));
    }

    #[test]
    fn the_workbook_is_a_zip_with_a_sheet_per_table() {
        let bytes = xlsx(
            &sample(false),
            &[("diary.csv", vec![diary_row(&diary(false), false)])],
        )
        .unwrap();
        assert_eq!(&bytes[..2], b"PK");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("xl/worksheets/sheet7.xml"), "seven sheets");
    }
}
