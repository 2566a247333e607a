//! The totals and messages of `layer2 analyze`'s input files, whichever reader reads them.
use super::*;

const PARTICIPANTS: &str =
    "id,cohort,function,tenure,gross_hours_month\na,heavy,Sales,1-3 y,10\nb,heavy,Sales,1-3 y,20\n";
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

#[test]
fn a_bad_pings_file_is_named_at_its_first_problem_as_when_read_after_participants() {
    let diary = "participant_id,logged_at,outcome\na,2027-02-01T09:00:00Z,all\n";
    let head = "participant_id,sent_at,answered_at,used_copilot,verification_min,correction_min,context_min,trust_min\n";
    let ok = "a,2027-02-01T09:00:00Z,2027-02-01T09:10:00Z,1,5,3,,1\n";
    let stranger = "zz,2027-02-01T09:00:00Z,2027-02-01T09:10:00Z,1,5,3,,1\n";
    let bad = "a,2027-02-01T09:00:00Z,2027-02-01T09:10:00Z,yes,5,3,,1\n";
    let unknown = |row: usize| {
        format!("pings.csv, row {row}, column participant_id: \"zz\" is not in participants.csv")
    };
    let yes = |row: usize| {
        format!("pings.csv, row {row}, column used_copilot: \"yes\" is not 1, 0 or empty")
    };
    let run = |pings: String| parse(PARTICIPANTS, diary, &pings, POPULATION, Rules::default());
    assert_eq!(
        run(format!("{head}{ok}{stranger}{bad}")).unwrap_err(),
        unknown(3)
    );
    assert_eq!(
        run(format!("{head}{ok}{bad}{stranger}")).unwrap_err(),
        yes(3)
    );
    assert_eq!(
        run(format!("{head}{}", stranger.replace(",1,5", ",yes,5"))).unwrap_err(),
        unknown(2),
        "on one row, the id is checked first"
    );
    assert!(
        run(format!("{head}a,2027-02-01T09:00:00Z\n{stranger}"))
            .unwrap_err()
            .starts_with("pings.csv, row 2: CSV error"),
    );
    // The earlier files' errors come first, though all are read at once.
    let e = parse(
        PARTICIPANTS,
        "participant_id,logged_at,outcome\na,2027-02-01T09:00:00Z,lots\n",
        &format!("{head}{stranger}"),
        POPULATION,
        Rules::default(),
    )
    .unwrap_err();
    assert!(e.starts_with("diary.csv, row 2, column outcome"), "{e}");
    let e = parse(
        "id,cohort,gross_hours_month\na,heavy,10\na,heavy,10\n",
        diary,
        &format!("{head}{stranger}"),
        POPULATION,
        Rules::default(),
    )
    .unwrap_err();
    assert_eq!(e, "participants.csv, row 3, column id: \"a\" appears twice");
}
