//! Replication positions, and the tokens that carry a client's last write between its
//! requests so that its reads see it (read your writes).
//!
//! A position is where a server's data stands: PostgreSQL's WAL LSN, MariaDB's GTID position
//! (a sequence number per replication domain). A primary's position after a write covers
//! that write; a replica that has replayed up to it has the write. A token holds one
//! position per database, merged by taking the later one; it travels as compact text (a
//! cookie, a header, a job's payload) and never fails a call: text that does not parse, or
//! names no database of the router, is ignored, and a position no replica reaches sends the
//! read to the primary.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Where a server's data stands.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    /// PostgreSQL: a WAL location.
    Lsn(u64),
    /// MariaDB: the last transaction of each replication domain, sorted by domain.
    Gtid(Box<[Gtid]>),
}

/// One MariaDB GTID: `domain-server-sequence`.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gtid {
    pub(crate) domain: u32,
    pub(crate) server: u32,
    pub(crate) sequence: u64,
}

/// Most domains a GTID position may name, and most databases a token may: text beyond is
/// not a real position, and is refused before it costs anything.
const MOST_DOMAINS: usize = 32;
const MOST_DATABASES: usize = 32;

impl Position {
    /// Whether a server at `self` has everything a server at `other` had.
    pub(crate) fn covers(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Lsn(mine), Self::Lsn(theirs)) => mine >= theirs,
            (Self::Gtid(mine), Self::Gtid(theirs)) => theirs.iter().all(|gtid| {
                mine.iter()
                    .any(|own| own.domain == gtid.domain && own.sequence >= gtid.sequence)
            }),
            _ => false,
        }
    }

    /// How far `self` is behind `ahead`: WAL bytes, or transactions summed over domains.
    pub(crate) fn behind(&self, ahead: &Self) -> u64 {
        match (self, ahead) {
            (Self::Lsn(mine), Self::Lsn(theirs)) => theirs.saturating_sub(*mine),
            (Self::Gtid(mine), Self::Gtid(theirs)) => theirs
                .iter()
                .map(|gtid| {
                    let own = mine.iter().find(|own| own.domain == gtid.domain);
                    gtid.sequence - own.map_or(0, |own| own.sequence.min(gtid.sequence))
                })
                .sum(),
            _ => 0,
        }
    }

    /// The later of the two, domain by domain.
    pub(crate) fn merge(&mut self, other: &Self) {
        match (&mut *self, other) {
            (Self::Lsn(mine), Self::Lsn(theirs)) => *mine = (*mine).max(*theirs),
            (Self::Gtid(mine), Self::Gtid(theirs)) => {
                let mut merged: Vec<Gtid> = mine.to_vec();
                for gtid in theirs.iter() {
                    match merged.iter_mut().find(|own| own.domain == gtid.domain) {
                        Some(own) if own.sequence < gtid.sequence => *own = *gtid,
                        Some(_) => {}
                        None => merged.push(*gtid),
                    }
                }
                merged.sort_by_key(|gtid| gtid.domain);
                *mine = merged.into();
            }
            // A database's backend does not change: a position of another kind is forged.
            _ => {}
        }
    }

    /// PostgreSQL's text form of an LSN, `16/B374D848`.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn parse_lsn(text: &str) -> Option<Self> {
        let (high, low) = text.trim().split_once('/')?;
        let high = u32::from_str_radix(high, 16).ok()?;
        let low = u32::from_str_radix(low, 16).ok()?;
        Some(Self::Lsn(u64::from(high) << 32 | u64::from(low)))
    }

    /// MariaDB's text form of a GTID position, `0-1-234,1-2-5`; `None` for an empty one
    /// (a server that never wrote).
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    pub(crate) fn parse_gtid(text: &str) -> Option<Self> {
        Self::parse_gtids(text.trim(), ',')
    }

    fn parse_gtids(text: &str, separator: char) -> Option<Self> {
        if text.is_empty() {
            return None;
        }
        let mut gtids = Vec::new();
        for gtid in text.split(separator) {
            if gtids.len() == MOST_DOMAINS {
                return None;
            }
            let mut parts = gtid.trim().splitn(3, '-');
            let mut number = || parts.next().and_then(|part| part.parse::<u64>().ok());
            let (domain, server, sequence) = (number()?, number()?, number()?);
            gtids.push(Gtid {
                domain: u32::try_from(domain).ok()?,
                server: u32::try_from(server).ok()?,
                sequence,
            });
        }
        gtids.sort_by_key(|gtid| gtid.domain);
        gtids.dedup_by_key(|gtid| gtid.domain);
        Some(Self::Gtid(gtids.into()))
    }

    /// MariaDB's text form, for `MASTER_GTID_WAIT`.
    pub(crate) fn gtid_text(&self) -> Option<String> {
        let Self::Gtid(gtids) = self else {
            return None;
        };
        let gtids: Vec<String> = gtids
            .iter()
            .map(|g| format!("{}-{}-{}", g.domain, g.server, g.sequence))
            .collect();
        Some(gtids.join(","))
    }

    /// The form in a token: hexadecimal for an LSN, GTIDs joined by `_` (no character a
    /// cookie refuses).
    fn token_text(&self) -> String {
        match self {
            Self::Lsn(lsn) => format!("{lsn:x}"),
            Self::Gtid(_) => self.gtid_text().unwrap_or_default().replace(',', "_"),
        }
    }

    fn from_token_text(text: &str) -> Option<Self> {
        if text.contains('-') {
            Self::parse_gtids(text, '_')
        } else {
            u64::from_str_radix(text, 16).ok().map(Self::Lsn)
        }
    }
}

/// A server's position, for stats: PostgreSQL's `16/B374D848`, MariaDB's `0-1-234`.
impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lsn(lsn) => write!(f, "{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF),
            Self::Gtid(_) => f.write_str(&self.gtid_text().unwrap_or_default()),
        }
    }
}

/// Where a client's writes reached, per database: give it back to a later session (or
/// request, or job) and its reads see those writes, on a replica that has them or else on
/// the primary.
///
/// Obtained from [`Session::token`](crate::Session::token) after its writes, or from
/// [`Router::token`](crate::Router::token); given with
/// [`Session::with_token`](crate::Session::with_token). Its text form (`Display`,
/// `FromStr`, serde) is compact and safe in a cookie or a header: `default:16b374d848`,
/// `default:16b374d848.analytics:0-1-234`. Text that does not parse gives an empty token: a
/// token is a hint for freshness, never a reason for a call to fail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Token {
    positions: Vec<(String, Position)>,
}

impl Token {
    /// Whether it holds no position.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Takes in `other`'s positions: the later one per database.
    pub fn merge(&mut self, other: &Token) {
        for (database, position) in &other.positions {
            self.merge_position(database, position);
        }
    }

    /// The position of `database`, if the token holds one.
    pub(crate) fn position(&self, database: &str) -> Option<&Position> {
        self.positions
            .iter()
            .find(|(key, _)| key == database)
            .map(|(_, position)| position)
    }

    /// Takes in `position` for `database`: the later one.
    pub(crate) fn merge_position(&mut self, database: &str, position: &Position) {
        let full = self.positions.len() >= MOST_DATABASES;
        match self.positions.iter_mut().find(|(key, _)| key == database) {
            Some((_, own)) => own.merge(position),
            None if !full => {
                self.positions.push((database.to_owned(), position.clone()));
                self.positions.sort_by(|(a, _), (b, _)| a.cmp(b));
            }
            None => {}
        }
    }

    /// Parses the text form; `None` when it is not a token.
    pub fn parse(text: &str) -> Option<Token> {
        let mut token = Token::default();
        if text.is_empty() {
            return Some(token);
        }
        if text.len() > 64 * MOST_DATABASES {
            return None;
        }
        for entry in text.split('.') {
            let (database, position) = entry.split_once(':')?;
            let plausible = !database.is_empty()
                && database.len() <= 64
                && database
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !plausible || token.positions.len() == MOST_DATABASES {
                return None;
            }
            token.merge_position(database, &Position::from_token_text(position)?);
        }
        Some(token)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, (database, position)) in self.positions.iter().enumerate() {
            let separator = if n == 0 { "" } else { "." };
            write!(f, "{separator}{database}:{}", position.token_text())?;
        }
        Ok(())
    }
}

/// A router handle's token: the positions of the writes made through it, and those it was
/// given. Each clone of the handle has its own copy.
#[derive(Debug, Default)]
pub(crate) struct TokenSlot {
    token: std::sync::Mutex<Token>,
    /// Whether the token holds a position: reads through a handle without one (most) take
    /// no lock.
    holds: std::sync::atomic::AtomicBool,
}

impl TokenSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Token> {
        self.token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn get(&self) -> Token {
        self.lock().clone()
    }

    /// The position reads of `database` must see, if any.
    pub(crate) fn position(&self, database: &str) -> Option<Position> {
        if !self.holds.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        self.lock().position(database).cloned()
    }

    pub(crate) fn merge(&self, token: &Token) {
        let mut own = self.lock();
        own.merge(token);
        let holds = !own.is_empty();
        self.holds
            .store(holds, std::sync::atomic::Ordering::Release);
    }

    pub(crate) fn merge_position(&self, database: &str, position: &Position) {
        self.lock().merge_position(database, position);
        self.holds.store(true, std::sync::atomic::Ordering::Release);
    }
}

impl Clone for TokenSlot {
    fn clone(&self) -> Self {
        let token = self.get();
        let holds = std::sync::atomic::AtomicBool::new(!token.is_empty());
        Self {
            token: std::sync::Mutex::new(token),
            holds,
        }
    }
}

/// Text that is not a token, from [`Token::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a diesel-route token")]
pub struct NotAToken;

impl FromStr for Token {
    type Err = NotAToken;

    fn from_str(text: &str) -> Result<Token, NotAToken> {
        Token::parse(text).ok_or(NotAToken)
    }
}

impl serde::Serialize for Token {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Text that does not parse deserialises to an empty token, so that a job whose token was
/// mangled still runs (on fresh data only if its replicas are current).
impl<'de> serde::Deserialize<'de> for Token {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Token, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Token::parse(&text).unwrap_or_default())
    }
}

/// Orders LSNs; GTID positions are ordered only when one covers the other.
impl PartialOrd for Position {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match (self.covers(other), other.covers(self)) {
            (true, true) => Some(Ordering::Equal),
            (true, false) => Some(Ordering::Greater),
            (false, true) => Some(Ordering::Less),
            (false, false) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsns_parse_compare_and_print() {
        let a = Position::parse_lsn("16/B374D848").unwrap();
        let b = Position::parse_lsn("16/B374D900").unwrap();
        assert!(b.covers(&a) && !a.covers(&b));
        assert_eq!(a.behind(&b), 0xB8);
        assert_eq!(a.to_string(), "16/B374D848");
        assert_eq!(Position::parse_lsn("16-B374"), None);
    }

    #[test]
    fn gtids_compare_by_domain() {
        let a = Position::parse_gtid("0-1-10,1-2-5").unwrap();
        let b = Position::parse_gtid("0-3-12").unwrap();
        assert!(!a.covers(&b) && !b.covers(&a));
        assert_eq!(a.behind(&b), 2);
        let mut merged = a.clone();
        merged.merge(&b);
        assert_eq!(merged.to_string(), "0-3-12,1-2-5");
        assert!(merged.covers(&a) && merged.covers(&b));
        assert_eq!(Position::parse_gtid(""), None);
    }

    #[test]
    fn tokens_round_trip_and_merge() {
        let mut token = Token::default();
        token.merge_position("default", &Position::Lsn(0x16B374D848));
        token.merge_position("maria", &Position::parse_gtid("0-1-10,1-2-5").unwrap());
        let text = token.to_string();
        assert_eq!(text, "default:16b374d848.maria:0-1-10_1-2-5");
        assert_eq!(Token::parse(&text), Some(token.clone()));
        let mut later = Token::default();
        later.merge_position("default", &Position::Lsn(0x16B374D900));
        token.merge(&later);
        assert_eq!(
            token.position("default"),
            Some(&Position::Lsn(0x16B374D900))
        );
        let json = serde_json::to_string(&token).unwrap();
        assert_eq!(serde_json::from_str::<Token>(&json).unwrap(), token);
    }

    #[test]
    fn garbage_is_no_token() {
        for text in [
            "x",
            "default",
            "default:",
            "default:zz",
            ":12",
            "default:1.other",
            "a b:1",
            "default:0-1",
            "default:0-1-2-3",
            "default:99999999999999999999",
            "default:4294967296-1-1",
        ] {
            assert_eq!(Token::parse(text), None, "{text}");
        }
        let long = "default:1.".repeat(200);
        assert_eq!(Token::parse(&long), None);
        assert_eq!(
            serde_json::from_str::<Token>("\"%%%\"").unwrap(),
            Token::default()
        );
    }
}
