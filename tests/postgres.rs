//! The PostgreSQL harness the scale-out store's tests stand on: a real cluster per test,
//! started from the Debian package's binaries in a temporary directory, gone after.

use std::time::Instant;

use crate::support::postgres::Postgres;

#[test]
fn a_throwaway_cluster_starts_answers_and_is_gone_after() {
    let started = Instant::now();
    let Some(pg) = Postgres::start() else { return };
    eprintln!("PostgreSQL cluster started in {:?}", started.elapsed());
    assert!(pg.psql("select version()").starts_with("PostgreSQL "));
    pg.psql("create table t (seq bigint primary key, body text not null)");
    pg.psql("insert into t values (1, 'one'), (2, 'two')");
    assert_eq!(pg.psql("select count(*) from t"), "2");
    // A second cluster beside it is its own: nothing of the first is there.
    let Some(other) = Postgres::start() else {
        return;
    };
    assert_ne!(pg.port, other.port);
    assert_eq!(
        other.psql("select count(*) from pg_tables where tablename = 't'"),
        "0"
    );
    let port = pg.port;
    drop(pg);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the cluster stopped with its harness"
    );
}
