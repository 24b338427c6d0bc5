//! `migrate.toml` environments and the promotion gate, through the CLI.

use migrate_tests::TestDb;

use crate::common::{backup_dir, migrate_bin, rows, table_exists, text, Dir};

fn deploy_env(
    dir: &Dir,
    config: &std::path::Path,
    env: &str,
    staging: &TestDb,
    production: &TestDb,
) -> std::process::Output {
    std::process::Command::new(migrate_bin())
        .args(["deploy", "--env", env, "--config"])
        .arg(config)
        .arg("--migrations-dir")
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .env("STAGING_URL", &staging.url)
        .env("PRODUCTION_URL", &production.url)
        .env("MIGRATE_BACKUP_DIR", backup_dir())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn production_needs_the_same_migrations_on_staging_first_and_the_same_schema() {
    let (staging, production) = (TestDb::new(), TestDb::new());
    let dir = Dir::with(&[("20240101000000_init", "CREATE TABLE a (id int);")]);
    let config = dir.path().join("migrate.toml");
    std::fs::write(
        &config,
        "[environments.staging]\nurl_env = \"STAGING_URL\"\n\n[environments.production]\nurl_env = \"PRODUCTION_URL\"\npromote_from = \"staging\"\n",
    )
    .unwrap();

    let out = deploy_env(&dir, &config, "production", &staging, &production);
    assert_eq!(out.status.code(), Some(1), "refused: {}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("promotion gate")
            && err.contains("20240101000000_init is not deployed on staging"),
        "{err}"
    );
    assert!(!table_exists(&production, "a"), "nothing was changed");

    // A production database that does not exist yet is not created by a refused deploy.
    let missing = format!("{}_new", production.name);
    let out = std::process::Command::new(migrate_bin())
        .args(["deploy", "--env", "production", "--config"])
        .arg(&config)
        .arg("--migrations-dir")
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .env("STAGING_URL", &staging.url)
        .env(
            "PRODUCTION_URL",
            production.url.replace(&production.name, &missing),
        )
        .env("MIGRATE_BACKUP_DIR", backup_dir())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("promotion gate"),
        "{}",
        text(&out.stderr)
    );
    let created: bool = production
        .client()
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&missing],
        )
        .unwrap()
        .get(0);
    assert!(!created, "the refused deploy created no database");

    let out = deploy_env(&dir, &config, "staging", &staging, &production);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = deploy_env(&dir, &config, "production", &staging, &production);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("same schema as staging"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(rows(&production).len(), 1);

    // Drift: staging was changed by hand; production's deploy of the next migration is rolled
    // back by the verification.
    staging
        .client()
        .batch_execute("ALTER TABLE a ADD COLUMN hand_made int")
        .unwrap();
    dir.add("20240102000000_b", "CREATE TABLE b (id int);");
    std::fs::write(
        dir.path().join("20240102000000_b").join("down.sql"),
        "DROP TABLE b;",
    )
    .unwrap();
    assert_eq!(
        deploy_env(&dir, &config, "staging", &staging, &production)
            .status
            .code(),
        Some(0)
    );
    let out = deploy_env(&dir, &config, "production", &staging, &production);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("same schema as staging"),
        "{}",
        text(&out.stderr)
    );
    assert!(!table_exists(&production, "b"), "rolled back");

    let out = deploy_env(&dir, &config, "prod", &staging, &production);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("production, staging"),
        "{}",
        text(&out.stderr)
    );
}
