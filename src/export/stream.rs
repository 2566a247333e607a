//! Writing an export file row by row: the raw rows are read a slice of participants at a time, in the
//! file's order, and handed on before the next slice is read, so memory is in proportion to a slice, never
//! to the file (a 25,000-participant export is about 100 MB of text).
use super::pseudonymise::{control_out, diary_out, ping_out};
use super::write::{self, Cell, JsonArray};
use super::{ControlOut, DiaryOut, ExportData, Member, PingOut, repo};
use crate::error::{AppError, Result};
use crate::study::StudyId;
use sqlx::SqlitePool;
use std::collections::HashMap;

/// Participants read per query: about 5,000 diary tasks and 10,000 pings at the usual density.
const SLICE: usize = 500;

/// The workbook is built in memory (the spreadsheet writer keeps every cell until it saves, and writes a
/// zip that needs the whole sheet): studies with more raw rows than this get their data as CSV or JSON
/// instead, which stream. About 40 MB of cells at this size.
pub const WORKBOOK_MAX_ROWS: i64 = 100_000;

/// Why a study's workbook is refused.
pub fn workbook_too_large(rows: i64) -> String {
    format!(
        "This study has {rows} rows of raw data, more than a workbook is built for here ({WORKBOOK_MAX_ROWS}). Download the CSV files or export.json instead: they carry the same data and stream at any size."
    )
}

/// Where a file's bytes go, a piece at a time.
pub trait Sink: Send {
    /// Takes the next bytes; an error stops the file (the reader went away, the disk is full).
    fn put(&mut self, bytes: Vec<u8>) -> impl Future<Output = Result<()>> + Send;
}

impl Sink for Vec<u8> {
    async fn put(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.extend(bytes);
        Ok(())
    }
}

/// A download's body: each piece goes to the response as soon as it is written; the channel's small
/// capacity makes the writer wait for a slow reader instead of piling up pieces.
pub struct Channel(pub tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>);

impl Sink for Channel {
    async fn put(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.0
            .send(Ok(bytes))
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the download was cancelled")))
    }
}

/// A file on disk (`layer2 export`).
pub struct File(pub std::io::BufWriter<std::fs::File>);

impl Sink for File {
    async fn put(&mut self, bytes: Vec<u8>) -> Result<()> {
        std::io::Write::write_all(&mut self.0, &bytes)
            .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))
    }
}

impl File {
    /// Writes what is buffered to the disk.
    pub fn finish(mut self) -> Result<()> {
        std::io::Write::flush(&mut self.0).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))
    }
}

/// The raw rows a file carried.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Written {
    /// diary.csv rows.
    pub diary: usize,
    /// pings.csv rows.
    pub pings: usize,
    /// control.csv rows.
    pub control: usize,
}

/// A slice of one raw table.
enum Chunk {
    Diary(Vec<DiaryOut>),
    Pings(Vec<PingOut>),
    Control(Vec<ControlOut>),
}

impl Chunk {
    fn cells(&self, descriptions: bool) -> Vec<Vec<Cell>> {
        match self {
            Chunk::Diary(v) => v
                .iter()
                .map(|e| write::diary_row(e, descriptions))
                .collect(),
            Chunk::Pings(v) => v.iter().map(write::ping_row).collect(),
            Chunk::Control(v) => v
                .iter()
                .map(|t| write::control_row(t, descriptions))
                .collect(),
        }
    }

    fn json(&self, array: &mut JsonArray) -> Vec<u8> {
        match self {
            Chunk::Diary(v) => array.items(v),
            Chunk::Pings(v) => array.items(v),
            Chunk::Control(v) => array.items(v),
        }
    }

    fn count(&self, w: &mut Written) {
        match self {
            Chunk::Diary(v) => w.diary += v.len(),
            Chunk::Pings(v) => w.pings += v.len(),
            Chunk::Control(v) => w.control += v.len(),
        }
    }
}

/// One raw table read a slice of participants at a time.
struct Slices<'a> {
    pool: &'a SqlitePool,
    study: StudyId,
    table: &'a str,
    parts: std::slice::Chunks<'a, Member>,
    descriptions: bool,
}

impl<'a> Slices<'a> {
    fn new(pool: &'a SqlitePool, d: &'a ExportData, table: &'a str) -> Self {
        let members = if table == "control" {
            &d.rows.control
        } else {
            &d.rows.main
        };
        Slices {
            pool,
            study: crate::study::StudyId(d.study.id),
            table,
            parts: members.chunks(SLICE),
            descriptions: d.study.descriptions,
        }
    }

    /// The next slice's rows, pseudonymised, in the file's order; `None` after the last.
    async fn next(&mut self) -> Result<Option<Chunk>> {
        let Some(part) = self.parts.next() else {
            return Ok(None);
        };
        let ids = serde_json::to_string(&part.iter().map(|m| m.participant).collect::<Vec<_>>())
            .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
        let names: HashMap<&str, &str> = part
            .iter()
            .map(|m| (m.employee_id.as_str(), m.pseudonym.as_str()))
            .collect();
        let pseud = |e: &str| names.get(e).map(|p| p.to_string());
        let desc = self.descriptions;
        Ok(Some(match self.table {
            "diary" => Chunk::Diary(
                repo::diary(self.pool, self.study, &ids)
                    .await?
                    .into_iter()
                    .filter_map(|d| Some(diary_out(pseud(&d.employee_id)?, d, desc)))
                    .collect(),
            ),
            "pings" => Chunk::Pings(
                repo::pings(self.pool, self.study, &ids)
                    .await?
                    .into_iter()
                    .filter_map(|g| Some(ping_out(pseud(&g.employee_id)?, g)))
                    .collect(),
            ),
            _ => Chunk::Control(
                repo::control(self.pool, self.study, &ids)
                    .await?
                    .into_iter()
                    .filter_map(|t| Some(control_out(pseud(&t.employee_id)?, t, desc)))
                    .collect(),
            ),
        }))
    }
}

/// Participants per piece of `export.json`'s `participants` array (about 250 KB of text).
const PARTICIPANTS_PER_PIECE: usize = 500;

/// Writes one file of an export to `sink`: a CSV file of [`super::CSV_FILES`], `export.json` or
/// `workbook.xlsx` (built whole: see [`WORKBOOK_MAX_ROWS`]). The caller checked the name and the access.
#[tracing::instrument(skip_all, fields(study = d.study.id))]
pub async fn write_file(
    pool: &SqlitePool,
    d: &ExportData,
    name: &str,
    sink: &mut impl Sink,
) -> Result<Written> {
    let mut written = Written::default();
    let desc = d.study.descriptions;
    match name {
        "export.json" => {
            for (text, array) in write::json_frame(d) {
                sink.put(text.into_bytes()).await?;
                if let Some(table) = array {
                    let mut items = JsonArray::default();
                    if table == "participants" {
                        for slice in d.participants.chunks(PARTICIPANTS_PER_PIECE) {
                            sink.put(items.items(slice)).await?;
                        }
                    } else {
                        let mut slices = Slices::new(pool, d, table);
                        while let Some(chunk) = slices.next().await? {
                            chunk.count(&mut written);
                            sink.put(chunk.json(&mut items)).await?;
                        }
                    }
                    sink.put(items.end().as_bytes().to_vec()).await?;
                }
            }
        }
        "workbook.xlsx" => {
            let mut raw = vec![];
            for table in write::JSON_STREAMED {
                let mut rows = vec![];
                let mut slices = Slices::new(pool, d, table);
                while let Some(chunk) = slices.next().await? {
                    chunk.count(&mut written);
                    rows.extend(chunk.cells(desc));
                }
                let file = match table {
                    "diary" => "diary.csv",
                    "pings" => "pings.csv",
                    _ => "control.csv",
                };
                raw.push((file, rows));
            }
            let bytes = write::xlsx(d, &raw)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("xlsx: {e}")))?;
            sink.put(bytes).await?;
        }
        name => {
            let tables = write::tables_for(d, Some(name));
            let table = tables
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| super::unknown(name))?;
            sink.put(write::csv(table)).await?;
            if let Some(raw) = name
                .strip_suffix(".csv")
                .filter(|t| write::JSON_STREAMED.contains(t))
            {
                let mut slices = Slices::new(pool, d, raw);
                while let Some(chunk) = slices.next().await? {
                    chunk.count(&mut written);
                    sink.put(write::csv_rows(&chunk.cells(desc))).await?;
                }
            }
        }
    }
    Ok(written)
}
