//! Which nudge text fits a person, decided when the nudge is sent (not when it is queued), from where
//! they stand at that moment. Pure.
use super::MessageKind;

/// Where a person stands when their nudge is sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct NudgeState {
    /// They said yes.
    pub consented: bool,
    /// In the control group (no check-ins).
    pub control: bool,
    /// Diary entries (or control tasks) logged.
    pub logged: i64,
    /// Entries asked for.
    pub target: i64,
    /// Their diary still takes entries today (their own date).
    pub diary_open: bool,
    /// Check-ins missed so far.
    pub missed: i64,
    /// Check-ins still to come.
    pub checkins_left: i64,
}

/// The nudge that fits: not yet consented; else the diary while it is behind and open (always, for the
/// control group, who have no check-ins); else the check-ins.
pub fn variant(s: &NudgeState) -> MessageKind {
    if !s.consented {
        MessageKind::NudgeConsent
    } else if s.control || (s.diary_open && s.logged < s.target) {
        MessageKind::NudgeDiary
    } else {
        MessageKind::NudgeCheckins
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nudge_fits_where_the_person_stands() {
        let base = NudgeState {
            consented: true,
            target: 5,
            diary_open: true,
            ..Default::default()
        };
        let not_yet = NudgeState {
            consented: false,
            ..base
        };
        assert_eq!(variant(&not_yet), MessageKind::NudgeConsent);
        assert_eq!(
            variant(&NudgeState { logged: 2, ..base }),
            MessageKind::NudgeDiary
        );
        let diary_done = NudgeState {
            logged: 5,
            missed: 3,
            checkins_left: 4,
            ..base
        };
        assert_eq!(variant(&diary_done), MessageKind::NudgeCheckins);
        let diary_closed = NudgeState {
            logged: 1,
            diary_open: false,
            missed: 2,
            ..base
        };
        assert_eq!(variant(&diary_closed), MessageKind::NudgeCheckins);
        let control = NudgeState {
            control: true,
            logged: 5,
            ..base
        };
        assert_eq!(variant(&control), MessageKind::NudgeDiary);
    }
}
