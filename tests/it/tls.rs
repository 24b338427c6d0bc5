//! TLS: `sslmode=require` encrypts, `verify-full` checks the CA and the host name.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use migrate_core::connection::connect;
use migrate_core::embedded::EmbeddedCluster;
use migrate_core::DatabaseUrl;
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509NameBuilder, X509};

fn key() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
}

fn cert(cn: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>, ca: bool) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let serial = openssl::bn::BigNum::from_u32(if ca { 1 } else { 2 })
        .unwrap()
        .to_asn1_integer()
        .unwrap();
    b.set_serial_number(&serial).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&name, |(c, _)| c.subject_name()))
        .unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(2).unwrap())
        .unwrap();
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
    } else {
        let san = SubjectAlternativeName::new()
            .dns("localhost")
            .build(&b.x509v3_context(issuer.map(|(c, _)| c.as_ref()), None))
            .unwrap();
        b.append_extension(san).unwrap();
    }
    b.sign(issuer.map_or(key, |(_, k)| k), MessageDigest::sha256())
        .unwrap();
    b.build()
}

fn write_owned(path: &Path, bytes: &[u8], like: &Path) {
    std::fs::write(path, bytes).unwrap();
    let meta = std::fs::metadata(like).unwrap();
    std::os::unix::fs::chown(path, Some(meta.uid()), Some(meta.gid())).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
}

#[test]
fn require_encrypts_and_verify_full_checks_ca_and_host_name() {
    let cluster = EmbeddedCluster::start().unwrap();
    let (ca_key, server_key) = (key(), key());
    let ca = cert("migrate test CA", &ca_key, None, true);
    let server = cert("localhost", &server_key, Some((&ca, &ca_key)), false);
    let data = cluster.data_dir();
    write_owned(&data.join("server.crt"), &server.to_pem().unwrap(), data);
    write_owned(
        &data.join("server.key"),
        &server_key.private_key_to_pem_pkcs8().unwrap(),
        data,
    );
    let mut admin = cluster.connect("postgres").unwrap();
    admin.batch_execute("ALTER SYSTEM SET ssl = on").unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));

    let tmp = tempfile::tempdir().unwrap();
    let ca_file = tmp.path().join("ca.pem");
    std::fs::write(&ca_file, ca.to_pem().unwrap()).unwrap();
    let base = |host: &str, params: &str| -> DatabaseUrl {
        format!(
            "postgresql://postgres:{}@{host}:{}/postgres?{params}",
            cluster.password(),
            cluster.port()
        )
        .parse()
        .unwrap()
    };
    let ssl_in_use = |url: &DatabaseUrl| -> bool {
        connect(url)
            .unwrap()
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0)
    };

    assert!(ssl_in_use(&base("127.0.0.1", "sslmode=require")));
    let verified = base(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", ca_file.display()),
    );
    assert!(ssl_in_use(&verified));
    // Prisma spells the CA `sslcert`.
    assert!(ssl_in_use(&base(
        "localhost",
        &format!("sslmode=verify-full&sslcert={}", ca_file.display())
    )));
    assert!(!ssl_in_use(&base("127.0.0.1", "sslmode=disable")));

    let wrong_host = base(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", ca_file.display()),
    );
    let err = connect(&wrong_host)
        .err()
        .expect("host name mismatch must fail")
        .to_string();
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains(cluster.password()));
    // verify-ca accepts the same certificate for any host name.
    assert!(ssl_in_use(&base(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={}", ca_file.display())
    )));
    let untrusted = base("localhost", "sslmode=verify-full");
    assert!(
        connect(&untrusted).is_err(),
        "a self-signed CA is not trusted by default"
    );
}
