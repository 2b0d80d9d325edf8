//! Production topologies on real servers: TLS in every mode on both server backends,
//! failovers (a standby promoted, a replica made primary) with the writer re-discovered,
//! PgBouncer in front, replicas that lag (read your writes, bounded staleness).

mod failover;
mod lag;
mod poolers;
mod read_your_writes;
mod support;
mod tls;

diesel_route::databases! {
    /// The PostgreSQL cases' database; the MariaDB cases point it nowhere.
    default: postgres,
    /// The MariaDB cases' database; the PostgreSQL cases point it nowhere.
    maria: mysql,
}
