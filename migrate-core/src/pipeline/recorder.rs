//! The journal entry of one pipeline run, and the schema it leaves expected: written in one
//! place, and every failure to write it surfaced as a warning event.

use postgres::Client;

use crate::connection::{connect, DatabaseUrl};
use crate::event::Event;
use crate::journal::{Deployment, Journal, Outcome};

/// Owns the run's bookkeeping session and its journal entry.
pub(crate) struct Recorder {
    url: DatabaseUrl,
    client: Option<Client>,
    /// The journal entry, once the apply (or a dead run's entry) gave one.
    id: Option<String>,
    /// Said in every note written: steps the deployer switched off.
    remarks: Vec<String>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("id", &self.id).finish()
    }
}

impl Recorder {
    pub fn new(url: DatabaseUrl, client: Client) -> Self {
        Self {
            url,
            client: Some(client),
            id: None,
            remarks: Vec::new(),
        }
    }

    /// The bookkeeping session, opened again when a restore ended it.
    pub fn db(&mut self) -> Result<&mut Client, super::StepError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = Some(connect(&self.url)?);
        }
        Ok(self.client.as_mut().expect("opened above"))
    }

    /// Drops the session: the next use opens a new one.
    pub fn reopen(&mut self) {
        self.client = None;
    }

    /// Remarks said in every note from now on (`backup off`).
    pub fn remark(&mut self, remark: impl Into<String>) {
        self.remarks.push(remark.into());
    }

    /// The entry this run writes to from now on.
    pub fn adopt(&mut self, id: Option<String>) {
        self.id = id;
    }

    /// The entry as it stands (kept across a restore, which rewinds the journal).
    pub fn entry(&mut self) -> Option<Deployment> {
        let id = self.id.clone()?;
        Journal::get(self.db().ok()?, &id).ok().flatten()
    }

    pub fn attach_backup(&mut self, backup: &str, events: &mut dyn FnMut(&Event)) {
        let Some(id) = self.id.clone() else { return };
        let written = self
            .db()
            .and_then(|c| Ok(Journal::attach_backup(c, &id, backup)?));
        self.surface(written, "recording the backup", events);
    }

    /// Sets the outcome with `note` (and the remarks); a final outcome also records the schema
    /// left as the one the next drift check expects.
    pub fn outcome(&mut self, outcome: Outcome, note: &str, events: &mut dyn FnMut(&Event)) {
        let Some(id) = self.id.clone() else { return };
        let note = self.noted(note);
        let written = self
            .db()
            .and_then(|c| Ok(Journal::set_outcome(c, &id, outcome, &note)?));
        self.surface(written, "recording the outcome", events);
        if matches!(
            outcome,
            Outcome::Succeeded | Outcome::Failed | Outcome::RolledBack
        ) {
            self.expect_schema();
        }
    }

    /// Puts back `entry` (rewound by a restore) with its final outcome at once: `rolling_back`
    /// would look orphaned to another run, since the restore also ended this run's presence.
    pub fn put_back(&mut self, mut entry: Deployment, note: &str, events: &mut dyn FnMut(&Event)) {
        entry.outcome = Outcome::RolledBack;
        entry.note = Some(self.noted(note));
        let written = self.db().and_then(|c| Ok(Journal::put(c, &entry)?));
        self.surface(written, "putting back the journal entry", events);
        self.expect_schema();
    }

    /// Records the schema now as the one this deployment left.
    fn expect_schema(&mut self) {
        let Some(id) = self.id.clone() else { return };
        let target = self.url.target();
        if let Ok(client) = self.db() {
            crate::journal::record_schema(client, &id, &target);
        }
    }

    fn noted(&self, note: &str) -> String {
        if self.remarks.is_empty() {
            note.to_owned()
        } else {
            format!("{note}; {}", self.remarks.join("; "))
        }
    }

    fn surface(
        &self,
        written: Result<(), super::StepError>,
        what: &str,
        events: &mut dyn FnMut(&Event),
    ) {
        if let Err(e) = written {
            let message = format!(
                "journal: {what} of deployment {} failed: {e}",
                self.id.as_deref().unwrap_or("?")
            );
            log::warn!(target: "migrate_core::pipeline", "{message}");
            events(&Event::Warning {
                migration: None,
                message,
            });
        }
    }
}
