//! The schema-only copy of the target database in a disposable embedded cluster.

use std::time::Instant;

use super::error::CompatError;
use crate::backup::PgTools;
use crate::connection::DatabaseUrl;
use crate::embedded::{EmbeddedCluster, EmbeddedOptions};

/// The cluster and a session on the copy; dropping it stops the cluster and deletes it.
pub(crate) struct Copy {
    /// A session on the copy.
    pub client: postgres::Client,
    /// Statements of the dump that failed to replay.
    pub warnings: Vec<String>,
    // Kept alive with the session; dropped last.
    _cluster: EmbeddedCluster,
}

/// Starts a cluster, dumps the target's schema (`pg_dump --schema-only`, no owners nor
/// privileges: the copy has none of the target's roles) and replays it statement by statement,
/// so that one object the copy cannot have (an extension not installed here) costs only itself.
pub(crate) fn schema_copy(
    url: &DatabaseUrl,
    target: &mut postgres::Client,
    cluster: &EmbeddedOptions,
) -> Result<Copy, CompatError> {
    let t = Instant::now();
    let major: i32 = target
        .query_one(
            "SELECT current_setting('server_version_num')::int / 10000",
            &[],
        )
        .map_err(|source| CompatError::Target {
            what: "the server version",
            source,
        })?
        .get(0);
    let dump = dump_schema(url, u32::try_from(major).unwrap_or(0))?;
    let cluster = EmbeddedCluster::start_with(cluster)?;
    let name = cluster.create_database("compat")?;
    let mut client = cluster.connect(&name)?;
    let mut warnings = Vec::new();
    for st in crate::sql::split(&dump) {
        if st.kind != crate::sql::StatementKind::Sql {
            continue; // pg_dump's `\restrict` lines are psql's business
        }
        if let Err(e) = client.batch_execute(st.text(&dump)) {
            let message = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned());
            warnings.push(format!(
                "{}: {message}",
                super::report::trimmed(st.text(&dump), 80)
            ));
        }
    }
    // The dump empties search_path for itself; the application's sessions have the default.
    client
        .batch_execute("RESET ALL")
        .map_err(|source| CompatError::CopySession {
            what: "reset the session".into(),
            source,
        })?;
    log::debug!(
        "schema copy of {} ready in {:?} ({} warning(s))",
        url.database(),
        t.elapsed(),
        warnings.len()
    );
    Ok(Copy {
        client,
        warnings,
        _cluster: cluster,
    })
}

fn dump_schema(url: &DatabaseUrl, major: u32) -> Result<String, CompatError> {
    let tools = PgTools::find(major)?;
    let output = tools
        .command("pg_dump", url)
        .args([
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--no-comments",
        ])
        .output()
        .map_err(|e| CompatError::Dump {
            status: "could not start".into(),
            output: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(CompatError::Dump {
            status: output.status.to_string(),
            output: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
