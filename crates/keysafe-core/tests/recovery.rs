//! Recovery over real TCP between two emulated instances: a certificate and its private key
//! copied without any file, proven by thumbprint and by the target's use of the private key.

use keysafe_core::connection::connect;
use keysafe_core::recovery::copy_certificate;
use keysafe_core::ErrorCode;
use mssql_emulator::{Emulator, DEFAULT_SA_PASSWORD};

use keysafe_test_support::seeded as instance;

const DMK: &str = "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Dmk!Passw0rd#2026';";

#[tokio::test]
async fn a_certificate_and_its_private_key_reach_another_instance_without_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = instance(
        &dir.path().join("a"),
        "SQLA",
        &format!("CREATE DATABASE Sales;\nUSE Sales;\n{DMK}\nCREATE CERTIFICATE SalesCert WITH SUBJECT = 'Sales signing';\nCREATE CERTIFICATE Other WITH SUBJECT = 'Other';"),
    )
    .await;
    let dst = instance(
        &dir.path().join("b"),
        "SQLB",
        &format!("CREATE DATABASE Sales;\nUSE Sales;\n{DMK}\nCREATE CERTIFICATE Other WITH SUBJECT = 'Another one';\nCREATE DATABASE NoKey;"),
    )
    .await;
    let o = |e: &Emulator| keysafe_test_support::sql_options(e, "sa", DEFAULT_SA_PASSWORD);
    let mut a = connect(&o(&src)).await.unwrap();
    let mut b = connect(&o(&dst)).await.unwrap();

    let copy = copy_certificate(&mut a, &mut b, "Sales", "SalesCert", "Sales", None)
        .await
        .unwrap();
    assert!(copy.verified(), "{copy:?}");
    assert!(!copy.already_present);
    assert_eq!(
        copy.target_protection, "MK",
        "the target's master key protects it"
    );
    assert_eq!(copy.thumbprint.len(), 40, "a SHA-1 thumbprint: {copy:?}");
    // The target can use the private key: it exports it like any key it holds.
    let rows = b
        .rows("USE Sales; SELECT CERTPRIVATEKEY(CERT_ID(N'SalesCert'), N'Export!Passw0rd#1'), (SELECT thumbprint FROM sys.certificates WHERE name = N'SalesCert')")
        .await
        .unwrap();
    assert!(
        rows[0].get::<&[u8], _>(0).is_some(),
        "the private key opens on the target"
    );
    assert_eq!(
        hex::encode_upper(rows[0].get::<&[u8], _>(1).unwrap()),
        copy.thumbprint
    );

    // Again: it is there already, nothing is created.
    let again = copy_certificate(&mut a, &mut b, "Sales", "SalesCert", "Sales", None)
        .await
        .unwrap();
    assert!(again.already_present && again.verified());

    // Another certificate under the same name is never replaced.
    let clash = copy_certificate(&mut a, &mut b, "Sales", "Other", "Sales", None)
        .await
        .unwrap_err();
    assert_eq!(clash.code, ErrorCode::InvalidInput, "{clash:?}");
    assert!(clash.message.contains("not replaced"), "{}", clash.message);

    // A database without a master key cannot protect the private key: refused, nothing made.
    let no_key = copy_certificate(&mut a, &mut b, "Sales", "SalesCert", "NoKey", None)
        .await
        .unwrap_err();
    assert_eq!(no_key.code, ErrorCode::MasterKeyNotOpen, "{no_key:?}");
    let left = b
        .rows("USE NoKey; SELECT COUNT(*) FROM sys.certificates WHERE name = N'SalesCert'")
        .await
        .unwrap();
    assert_eq!(left[0].get::<i32, _>(0), Some(0));

    // With a password for it, Keysafe creates the master key first (a weak one is refused
    // before anything is made), and the copy lands under it.
    let weak = keysafe_core::Password::new("weak");
    let refused = copy_certificate(&mut a, &mut b, "Sales", "SalesCert", "NoKey", Some(&weak))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::PasswordPolicy, "{refused:?}");
    let dmk = keysafe_core::Password::new("NewDmk!Passw0rd#9");
    let made = copy_certificate(&mut a, &mut b, "Sales", "SalesCert", "NoKey", Some(&dmk))
        .await
        .unwrap();
    assert!(made.created_master_key && made.verified(), "{made:?}");
    assert_eq!(made.target_protection, "MK");
    let keys = b
        .rows("USE NoKey; SELECT COUNT(*) FROM sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##'")
        .await
        .unwrap();
    assert_eq!(keys[0].get::<i32, _>(0), Some(1));

    // Nothing said about any of it carries the one-time password's statement.
    for e in [&clash, &no_key] {
        let text = format!("{} {}", e.message, e.next_step.clone().unwrap_or_default());
        assert!(!text.contains("DECRYPTION BY PASSWORD"), "{text}");
        assert!(!text.contains("CERTPRIVATEKEY("), "{text}");
    }
}

#[tokio::test]
async fn a_missing_certificate_is_named_and_the_target_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let src = instance(&dir.path().join("a"), "SQLA", "CREATE DATABASE Sales;").await;
    let dst = instance(
        &dir.path().join("b"),
        "SQLB",
        &format!("CREATE DATABASE Sales;\nUSE Sales;\n{DMK}"),
    )
    .await;
    let o = |e: &Emulator| keysafe_test_support::sql_options(e, "sa", DEFAULT_SA_PASSWORD);
    let mut a = connect(&o(&src)).await.unwrap();
    let mut b = connect(&o(&dst)).await.unwrap();
    let e = copy_certificate(&mut a, &mut b, "Sales", "Nope", "Sales", None)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "{e:?}");
    assert!(e.message.contains("Nope"), "{}", e.message);
}

#[tokio::test]
async fn a_login_that_only_sees_a_certificate_is_told_it_needs_control_on_it() {
    // CERTPRIVATEKEY gives the private key only to a login with CONTROL on the certificate:
    // seeing it (VIEW DEFINITION) gets NULL, which Keysafe explains with the grant that fixes
    // it; with CONTROL on that one certificate (and nothing else) the copy succeeds.
    let dir = tempfile::tempdir().unwrap();
    let src = instance(
        &dir.path().join("a"),
        "SQLA",
        &format!("CREATE DATABASE Sales;\nUSE Sales;\n{DMK}\nCREATE CERTIFICATE SalesCert WITH SUBJECT = 'Sales signing';\nUSE master; CREATE LOGIN courier WITH PASSWORD = 'Van!Driver#2026';\nUSE Sales; CREATE USER courier FOR LOGIN courier; GRANT VIEW DEFINITION ON CERTIFICATE::SalesCert TO courier;"),
    )
    .await;
    let dst = instance(
        &dir.path().join("b"),
        "SQLB",
        &format!("CREATE DATABASE Sales;\nUSE Sales;\n{DMK}"),
    )
    .await;
    let mut a = connect(&keysafe_test_support::sql_options(
        &src,
        "courier",
        "Van!Driver#2026",
    ))
    .await
    .unwrap();
    let mut b = connect(&keysafe_test_support::sql_options(
        &dst,
        "sa",
        DEFAULT_SA_PASSWORD,
    ))
    .await
    .unwrap();
    let e = copy_certificate(&mut a, &mut b, "Sales", "SalesCert", "Sales", None)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied, "{e:?}");
    assert!(
        e.message.contains("needs CONTROL on the certificate"),
        "{}",
        e.message
    );
    assert!(
        e.next_step
            .as_deref()
            .unwrap()
            .contains("GRANT CONTROL ON CERTIFICATE::[SalesCert]"),
        "{e:?}"
    );
    // Nothing was created on the target.
    let rows = b
        .rows("USE Sales; SELECT COUNT(*) FROM sys.certificates WHERE name = N'SalesCert'")
        .await
        .unwrap();
    assert_eq!(rows[0].get::<i32, _>(0), Some(0));
    src.instance()
        .run_as(
            "sa",
            "USE Sales; GRANT CONTROL ON CERTIFICATE::SalesCert TO courier;",
        )
        .unwrap();
    let copy = copy_certificate(&mut a, &mut b, "Sales", "SalesCert", "Sales", None)
        .await
        .unwrap();
    assert!(copy.verified(), "{copy:?}");
}
