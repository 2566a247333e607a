//! The roster CSV: one row per employee, with tenure, time zone and the optional identifiers vendors
//! match on: `login` (e.g. GitHub), `upn` (a Microsoft user principal name, when it differs from the
//! email) and `vendor_id` (an id the vendor assigns: an IAM Identity Center user id, a Viva PersonId).

use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;
use csv::StringRecord;

use super::fields::{chars_over, check_email, first_row, parse_iso_date};
use super::table::{Layout, Problems, Table, decode, quote};
use super::{ImportProblem, RosterRow, Tenure};

/// Parses a roster CSV; hire dates after `today` are refused.
pub fn parse_roster(bytes: &[u8], today: NaiveDate) -> Result<Vec<RosterRow>, Vec<ImportProblem>> {
    let text = decode(bytes, Layout::Csv)?;
    let mut table = Table::open(text)?;
    let mut problems = Problems::default();
    let id_col = table.required("employee_id", &mut problems);
    let email_col = table.required("email", &mut problems);
    let function_col = table.required("function", &mut problems);
    let hire_col = table.col("hire_date");
    let band_col = table.col("tenure_band");
    if hire_col.is_none() && band_col.is_none() {
        problems.push(
            Some(1),
            Some("hire_date"),
            "missing column \"hire_date\" (or \"tenure_band\"): the roster needs at least one of them",
        );
    }
    let tz_col = table.required("time_zone", &mut problems);
    let login_col = table.col("login");
    let upn_col = table.col("upn");
    let vendor_col = table.col("vendor_id");
    let (Some(id_col), Some(email_col), Some(function_col), Some(tz_col), false) =
        (id_col, email_col, function_col, tz_col, problems.total > 0)
    else {
        return Err(problems.into_vec());
    };
    // Which column a missing tenure is reported on: the one the file has, hire_date if both.
    let tenure_column = if hire_col.is_some() {
        "hire_date"
    } else {
        "tenure_band"
    };

    let mut rows = Vec::new();
    let mut ids = HashMap::new();
    let mut emails = HashMap::new();
    let mut logins = HashMap::new();
    let mut upns = HashMap::new();
    let mut vendor_ids = HashMap::new();
    let mut rec = StringRecord::new();
    while let Some(row) = table.next(&mut rec, &mut problems) {
        let id = rec[id_col].trim();
        if id.is_empty() {
            problems.at(row, "employee_id", "employee_id is empty");
        } else if chars_over(id, 64) {
            problems.at(
                row,
                "employee_id",
                format!("{} is longer than 64 characters", quote(id)),
            );
        } else if let Some(earlier) = first_row(&mut ids, &id.to_lowercase(), row) {
            // Ids are matched to usage data case-insensitively, so "E1" and "e1" are one person.
            problems.at(
                row,
                "employee_id",
                format!("{} is a duplicate of row {earlier}", quote(id)),
            );
        }

        let email_raw = rec[email_col].trim();
        let email = email_raw.to_lowercase();
        match check_email(email_raw) {
            Err(m) => problems.at(row, "email", m),
            Ok(()) => {
                if let Some(earlier) = first_row(&mut emails, &email, row) {
                    problems.at(
                        row,
                        "email",
                        format!("{} is a duplicate of row {earlier}", quote(email_raw)),
                    );
                }
            }
        }

        let function = rec[function_col].trim();
        if function.is_empty() {
            problems.at(row, "function", "function is empty");
        } else if chars_over(function, 80) {
            problems.at(
                row,
                "function",
                format!("{} is longer than 80 characters", quote(function)),
            );
        }

        let hire = hire_col.map_or("", |c| rec[c].trim());
        let band = band_col.map_or("", |c| rec[c].trim());
        let tenure = if !hire.is_empty() {
            match parse_iso_date(hire) {
                None => {
                    problems.at(
                        row,
                        "hire_date",
                        format!("{} is not a date in the form YYYY-MM-DD", quote(hire)),
                    );
                    None
                }
                Some(d) if d > today => {
                    problems.at(
                        row,
                        "hire_date",
                        format!("hire date {d} is after today ({today})"),
                    );
                    None
                }
                Some(d) => Some(Tenure::HireDate(d)),
            }
        } else if !band.is_empty() {
            Some(Tenure::Band(band.to_owned()))
        } else {
            let what = match (hire_col, band_col) {
                (Some(_), Some(_)) => "a hire_date or a tenure_band",
                (Some(_), None) => "a hire_date",
                _ => "a tenure_band",
            };
            problems.at(row, tenure_column, format!("the row needs {what}"));
            None
        };

        let tz_text = rec[tz_col].trim();
        let time_zone = if tz_text.is_empty() {
            problems.at(row, "time_zone", "time_zone is empty");
            None
        } else {
            match Tz::from_str(tz_text) {
                Ok(tz) => Some(tz),
                Err(_) => {
                    problems.at(
                        row,
                        "time_zone",
                        format!("unknown time zone {}", quote(tz_text)),
                    );
                    None
                }
            }
        };

        let login = login_col.map(|c| rec[c].trim()).filter(|l| !l.is_empty());
        if let Some(l) = login
            && let Some(earlier) = first_row(&mut logins, &l.to_lowercase(), row)
        {
            problems.at(
                row,
                "login",
                format!("{} is a duplicate of row {earlier}", quote(l)),
            );
        }

        let upn = upn_col.map(|c| rec[c].trim()).filter(|u| !u.is_empty());
        if let Some(u) = upn {
            if let Err(m) = check_email(u) {
                let m = m.replace("email address", "user principal name (name@domain)");
                problems.at(row, "upn", m);
            } else if let Some(earlier) = first_row(&mut upns, &u.to_lowercase(), row) {
                problems.at(
                    row,
                    "upn",
                    format!("{} is a duplicate of row {earlier}", quote(u)),
                );
            }
        }
        let vendor_id = vendor_col.map(|c| rec[c].trim()).filter(|v| !v.is_empty());
        if let Some(v) = vendor_id {
            if chars_over(v, 128) {
                problems.at(
                    row,
                    "vendor_id",
                    format!("{} is longer than 128 characters", quote(v)),
                );
            } else if let Some(earlier) = first_row(&mut vendor_ids, &v.to_lowercase(), row) {
                problems.at(
                    row,
                    "vendor_id",
                    format!("{} is a duplicate of row {earlier}", quote(v)),
                );
            }
        }

        // Once the file is refused the rows are never used; stop building them.
        if problems.is_empty()
            && let (Some(tenure), Some(time_zone)) = (tenure, time_zone)
        {
            rows.push(RosterRow {
                row,
                employee_id: id.to_owned(),
                email,
                function: function.to_owned(),
                tenure,
                time_zone,
                login: login.map(str::to_owned),
                upn: upn.map(str::to_lowercase),
                vendor_id: vendor_id.map(str::to_owned),
            });
        }
    }
    if problems.is_empty() {
        table.no_data_rows()?;
        fallback_collisions(&rows, &mut problems);
    }
    problems.finish(rows)
}

/// A usage key is matched on a roster column and, for people with nothing in it, on a fallback (a UPN on
/// `upn`, else the email; a login on `login`, else the employee id). One person's value equal to another
/// person's fallback would send that key to one of them by the order of the lookups: refused, naming both.
fn fallback_collisions(rows: &[RosterRow], problems: &mut Problems) {
    type Pick = fn(&RosterRow) -> Option<&str>;
    let checks: [(&str, &str, Pick, Pick); 2] = [
        ("upn", "email", |r| r.upn.as_deref(), |r| Some(&r.email)),
        (
            "login",
            "employee_id",
            |r| r.login.as_deref(),
            |r| Some(&r.employee_id),
        ),
    ];
    for (column, fallback, value, fallback_value) in checks {
        // Fallback values of the people with no value of their own.
        let open: HashMap<String, usize> = rows
            .iter()
            .filter(|r| value(r).is_none())
            .filter_map(|r| fallback_value(r).map(|f| (f.to_lowercase(), r.row)))
            .collect();
        for r in rows {
            if let Some(v) = value(r)
                && let Some(&other) = open.get(&v.to_lowercase())
            {
                problems.at(
                    r.row,
                    column,
                    format!(
                        "{} is also the {fallback} of row {other}, who has no {column}: a usage file's \
                         {column} would match either; give row {other} its own {column}",
                        quote(v)
                    ),
                );
            }
        }
    }
}

/// A roster CSV to start from: every column the import reads, with two made-up employees (one with a
/// hire date, one with a tenure band) in the study's time zone. It imports as it is; the rows are there to be
/// replaced.
pub fn template(time_zone: Tz, today: NaiveDate) -> String {
    let hired = today
        .checked_sub_signed(chrono::Duration::days(3 * 365))
        .unwrap_or(today)
        .format("%Y-%m-%d")
        .to_string();
    let zone = time_zone.name();
    let mut w = csv::Writer::from_writer(Vec::new());
    let rows: [[&str; 9]; 3] = [
        [
            "employee_id",
            "email",
            "function",
            "hire_date",
            "tenure_band",
            "time_zone",
            "login",
            "upn",
            "vendor_id",
        ],
        [
            "E0001",
            "first.person@example.com",
            "Engineering",
            &hired,
            "",
            zone,
            "first-person",
            "",
            "",
        ],
        [
            "E0002",
            "second.person@example.com",
            "Finance",
            "",
            "1-3 y",
            zone,
            "",
            "second.person@corp.example.com",
            "",
        ],
    ];
    for r in rows {
        w.write_record(r).expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 in, UTF-8 out")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::import::test_util::*;

    #[test]
    fn the_template_imports_as_it_is_with_every_column_read() {
        let today = d("2026-11-15");
        let text = template(chrono_tz::Europe::Berlin, today);
        assert!(text.starts_with(
            "employee_id,email,function,hire_date,tenure_band,time_zone,login,upn,vendor_id\n"
        ));
        let rows = parse_roster(text.as_bytes(), today).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].time_zone, chrono_tz::Europe::Berlin);
        assert!(matches!(rows[0].tenure, Tenure::HireDate(_)));
        assert_eq!(rows[1].tenure, Tenure::Band("1-3 y".into()));
        assert_eq!(
            rows[1].upn.as_deref(),
            Some("second.person@corp.example.com")
        );
    }

    #[test]
    fn a_good_roster_parses_with_any_column_order_case_bom_crlf_and_extra_columns() {
        let text = "\u{feff} Email ,EMPLOYEE_ID,function,Hire_Date,tenure_band,time_zone,login,notes\r\n\
                    Ada@Example.ORG,E1, Engineering ,2020-02-29,,Europe/London,Octo-Ada,x\r\n\
                    b@example.org,E2,Sales,,1-3 y,America/New_York,,\r\n\
                    c@example.org,E3,Sales,2019-05-01,3-5 y,Asia/Singapore,octo-c,\r\n";
        let rows = roster(text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0],
            RosterRow {
                row: 2,
                employee_id: "E1".into(),
                email: "ada@example.org".into(),
                function: "Engineering".into(),
                tenure: Tenure::HireDate(d("2020-02-29")),
                time_zone: chrono_tz::Europe::London,
                login: Some("Octo-Ada".into()),
                upn: None,
                vendor_id: None,
            }
        );
        assert_eq!(rows[1].tenure, Tenure::Band("1-3 y".into()));
        assert_eq!(rows[1].login, None);
        assert_eq!(rows[2].row, 4);
        assert_eq!(
            rows[2].tenure,
            Tenure::HireDate(d("2019-05-01")),
            "hire_date wins over the band"
        );
    }

    #[test]
    fn a_roster_with_bad_rows_is_refused_with_each_row_and_column_named() {
        let bad = "employee_id,email,function,hire_date,time_zone\n\
                   E1,a@example.org,Sales,2020-01-01,Europe/London\n\
                   E1,b@example.org,Sales,2020-01-01,Europe/London\n\
                   E3,A@example.org,Sales,2020-01-01,Europe/London\n\
                   E4,d@example.org,Sales,2020-31-01,Europe/London\n\
                   E5,e@example.org,<script>alert(1)</script>,2020-01-01,Europe/Lodnon\n";
        let problems = roster_err(bad);
        assert_eq!(
            places(&problems),
            vec![
                (Some(3), Some("employee_id")),
                (Some(4), Some("email")),
                (Some(5), Some("hire_date")),
                (Some(6), Some("time_zone"))
            ]
        );
        assert_eq!(problems[0].message, "\"E1\" is a duplicate of row 2");
        assert_eq!(
            problems[1].message,
            "\"A@example.org\" is a duplicate of row 2"
        );
        assert!(problems[2].message.contains("YYYY-MM-DD"));
        assert_eq!(
            problems[3].to_string(),
            "row 6, column time_zone: unknown time zone \"Europe/Lodnon\""
        );
    }

    #[test]
    fn user_text_is_quoted_verbatim_not_escaped() {
        let text = format!("{HEADER}E1,a@example.org,Sales,2020-01-01,<script>alert(1)</script>\n");
        let problems = roster_err(&text);
        assert_eq!(
            problems[0].message,
            "unknown time zone \"<script>alert(1)</script>\""
        );
    }

    #[test]
    fn each_missing_column_is_one_problem_on_row_one() {
        let problems = roster_err("employee_id,email\nE1,a@example.org\n");
        assert_eq!(
            places(&problems),
            vec![
                (Some(1), Some("function")),
                (Some(1), Some("hire_date")),
                (Some(1), Some("time_zone"))
            ]
        );
        assert!(problems[0].message.contains("function"));
        assert!(problems[1].message.contains("tenure_band"));
    }

    #[test]
    fn roster_field_rules() {
        let long_id = "X".repeat(65);
        let long_fn = "F".repeat(81);
        let text = format!(
            "employee_id,email,function,hire_date,tenure_band,time_zone,login\n\
             ,a@example.org,Sales,2020-01-01,,UTC,\n\
             {long_id},b@example.org,Sales,2020-01-01,,UTC,\n\
             E3,not-an-email,Sales,2020-01-01,,UTC,\n\
             E4,d@@example.org,Sales,2020-01-01,,UTC,\n\
             E5,e@localhost,Sales,2020-01-01,,UTC,\n\
             E6,f @example.org,Sales,2020-01-01,,UTC,\n\
             E7,g@example.org,,2020-01-01,,UTC,\n\
             E8,h@example.org,{long_fn},2020-01-01,,UTC,\n\
             E9,i@example.org,Sales,,,UTC,\n\
             E10,j@example.org,Sales,01/02/2020,,UTC,\n\
             E11,k@example.org,Sales,2026-12-02,,UTC,\n\
             E12,l@example.org,Sales,2020-1-5,,UTC,\n\
             E13,m@example.org,Sales,2020-01-01,,,\n\
             E14,n@example.org,Sales,2020-01-01,,UTC,Octo\n\
             E15,o@example.org,Sales,2020-01-01,,UTC,octo\n\
             E16,,Sales,2020-01-01,,UTC,\n"
        );
        let problems = roster_err(&text);
        assert_eq!(
            places(&problems),
            vec![
                (Some(2), Some("employee_id")),
                (Some(3), Some("employee_id")),
                (Some(4), Some("email")),
                (Some(5), Some("email")),
                (Some(6), Some("email")),
                (Some(7), Some("email")),
                (Some(8), Some("function")),
                (Some(9), Some("function")),
                (Some(10), Some("hire_date")),
                (Some(11), Some("hire_date")),
                (Some(12), Some("hire_date")),
                (Some(13), Some("hire_date")),
                (Some(14), Some("time_zone")),
                (Some(16), Some("login")),
                (Some(17), Some("email")),
            ]
        );
        assert!(
            problems[9].message.contains("YYYY-MM-DD")
                && problems[9].message.contains("01/02/2020")
        );
        assert_eq!(
            problems[10].message,
            "hire date 2026-12-02 is after today (2026-12-01)"
        );
        assert_eq!(problems[13].message, "\"octo\" is a duplicate of row 15");
        // The hire date of today itself is fine.
        assert!(roster(&format!("{HEADER}E1,a@example.org,Sales,2026-12-01,UTC\n")).is_ok());
    }

    #[test]
    fn a_roster_needs_a_tenure_column_and_each_row_a_tenure() {
        let only_band =
            "employee_id,email,function,tenure_band,time_zone\nE1,a@example.org,Sales,,UTC\n";
        let problems = roster_err(only_band);
        assert_eq!(places(&problems), vec![(Some(2), Some("tenure_band"))]);
        let rows = roster(
            "employee_id,email,function,tenure_band,time_zone\nE1,a@example.org,Sales,< 1 y,UTC\n",
        );
        assert_eq!(rows.unwrap()[0].tenure, Tenure::Band("< 1 y".into()));
    }

    #[test]
    fn a_hundred_thousand_rows_parse() {
        let zones = ["Europe/London", "America/New_York", "Asia/Singapore"];
        let mut text = String::from("employee_id,email,function,hire_date,time_zone,login\n");
        for i in 0..100_000 {
            text.push_str(&format!(
                "E{i:06},e{i:06}@example.org,Function {},{}-0{}-15,{},login{i}\n",
                i % 7,
                2010 + i % 15,
                1 + i % 9,
                zones[i % 3]
            ));
        }
        let start = std::time::Instant::now();
        let rows = roster(&text).unwrap();
        eprintln!("100,000 roster rows in {:?}", start.elapsed());
        assert_eq!(rows.len(), 100_000);
        assert_eq!(rows[99_999].row, 100_001);
        assert_eq!(rows[99_999].email, "e099999@example.org");
    }

    #[test]
    fn upn_and_vendor_id_are_optional_checked_and_unique() {
        let text = "employee_id,email,function,hire_date,time_zone,upn,vendor_id\n\
                    E1,ada@example.org,Eng,2020-01-01,UTC,Ada.L@Corp.Example.onmicrosoft.com,52C514F4-1111-2222-3333-444455556666\n\
                    E2,bob@example.org,Eng,2020-01-01,UTC,,\n";
        let rows = roster(text).unwrap();
        assert_eq!(
            rows[0].upn.as_deref(),
            Some("ada.l@corp.example.onmicrosoft.com")
        );
        assert_eq!(
            rows[0].vendor_id.as_deref(),
            Some("52C514F4-1111-2222-3333-444455556666")
        );
        assert_eq!(
            (rows[1].upn.as_deref(), rows[1].vendor_id.as_deref()),
            (None, None)
        );
        let bad = roster_err(
            "employee_id,email,function,hire_date,time_zone,upn,vendor_id\n\
             E1,a@example.org,Eng,2020-01-01,UTC,not a upn,v1\n\
             E2,b@example.org,Eng,2020-01-01,UTC,x@corp.example,V1\n\
             E3,c@example.org,Eng,2020-01-01,UTC,X@corp.example,v3\n",
        );
        assert_eq!(
            places(&bad),
            vec![
                (Some(2), Some("upn")),
                (Some(3), Some("vendor_id")),
                (Some(4), Some("upn"))
            ]
        );
        assert!(
            bad[0].message.contains("user principal name"),
            "{}",
            bad[0].message
        );
    }

    #[test]
    fn a_upn_or_login_equal_to_another_persons_fallback_is_refused_naming_both() {
        let text = "employee_id,email,function,hire_date,time_zone,login,upn\n\
                    E11,zoe@example.org,HR,2020-01-01,UTC,,jose@example.org\n\
                    E12,jose@example.org,HR,2020-01-01,UTC,,\n\
                    E13,x@example.org,Eng,2020-01-01,UTC,e14,\n\
                    E14,y@example.org,Eng,2020-01-01,UTC,,\n";
        let problems = roster_err(text);
        assert_eq!(
            places(&problems),
            vec![(Some(2), Some("upn")), (Some(4), Some("login"))]
        );
        assert!(
            problems[0]
                .message
                .contains("\"jose@example.org\" is also the email of row 3"),
            "{problems:?}"
        );
        // Once row 3 has its own upn, and row 5 its own login, nothing is ambiguous.
        let fixed = text
            .replace(
                "jose@example.org,HR,2020-01-01,UTC,,\n",
                "jose@example.org,HR,2020-01-01,UTC,,jose.n@example.org\n",
            )
            .replace(
                "E14,y@example.org,Eng,2020-01-01,UTC,,",
                "E14,y@example.org,Eng,2020-01-01,UTC,why,",
            );
        assert_eq!(roster(&fixed).unwrap().len(), 4);
    }
}
