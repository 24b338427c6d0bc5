//! `migrate completions SHELL` and `migrate man`: generated from the clap definition, so they
//! never disagree with `--help`.

use std::io::Write;

use anyhow::Context;
use serde_json::json;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::output::{Outcome, Output};

pub(super) fn completions(args: &CompletionsArgs, out: &Output) -> anyhow::Result<Outcome> {
    let mut script = Vec::new();
    clap_complete::generate(
        args.shell,
        &mut Cli::command_tailored(),
        "migrate",
        &mut script,
    );
    let script = String::from_utf8(script).context("the completion script is not UTF-8")?;
    emit(out, &script)?;
    Ok(Outcome::ok(
        json!({ "shell": args.shell.to_string(), "script": script }),
    ))
}

pub(super) fn man(args: &ManArgs, out: &Output) -> anyhow::Result<Outcome> {
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        clap_mangen::generate_to(Cli::command_tailored(), dir)
            .with_context(|| format!("writing the man pages into {}", dir.display()))?;
        let mut pages: Vec<String> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with("migrate") && name.ends_with(".1"))
            .collect();
        pages.sort();
        out.result(format!(
            "{} man page(s) written into {}",
            pages.len(),
            dir.display()
        ));
        return Ok(Outcome::ok(json!({ "dir": dir, "pages": pages })));
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command_tailored())
        .render(&mut page)
        .context("rendering the man page")?;
    let page = String::from_utf8(page).context("the man page is not UTF-8")?;
    emit(out, &page)?;
    Ok(Outcome::ok(json!({ "page": page })))
}

/// Writes generated text as is on stdout (no colour, no trailing newline added); with
/// `--json`, the text is a field of the result object instead.
fn emit(out: &Output, text: &str) -> anyhow::Result<()> {
    if out.is_json() {
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // `| head` closing the pipe is not an error worth reporting.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing stdout"),
        _ => Ok(()),
    }
}
