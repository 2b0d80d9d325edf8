//! Replication positions, and the tokens that carry a client's last write between its
//! requests so that its reads see it (read your writes).
//!
//! A position is where a server's data stands: PostgreSQL's WAL LSN, MariaDB's GTID position
//! (a sequence number per replication domain), MySQL's GTID set (the transactions executed,
//! as ranges per source server). A primary's position after a write covers
//! that write; a replica that has replayed up to it has the write. A token holds one
//! position per database, merged by taking the later one; it travels as compact text (a
//! cookie, a header, a job's payload) and never fails a call: text that does not parse, or
//! names no database of the router, is ignored, and a position no replica reaches sends the
//! read to the primary (when the fallback policy allows it).
//!
//! A token is client input. With keys configured ([`TokenKeys`]), the router signs the tokens
//! it hands out with an HMAC-SHA-256 truncated to 128 bits, `<positions>~1<mac>` (`1` is the
//! form's version, the MAC in unpadded base64url), and ignores every token it is given
//! without a valid signature, at the cost of one MAC over at most 2 KiB of text.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};

/// Where a server's data stands.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    /// PostgreSQL: a WAL location.
    Lsn(u64),
    /// MariaDB: the last transaction of each replication domain, sorted by domain.
    Gtid(Box<[Gtid]>),
    /// MySQL: the transactions executed, per source server, sorted by source.
    GtidSet(Box<[SourceSet]>),
}

/// The transactions of one source server in a MySQL GTID set: its UUID and the ranges of
/// their numbers, sorted, apart and not adjacent.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceSet {
    pub(crate) source: u128,
    pub(crate) ranges: Box<[(u64, u64)]>,
}

impl SourceSet {
    /// Whether every transaction of `other`, of the same source, is in `self`.
    fn covers(&self, other: &Self) -> bool {
        other.ranges.iter().all(|&(start, end)| {
            self.ranges
                .iter()
                .any(|&(own_start, own_end)| own_start <= start && end <= own_end)
        })
    }

    /// How many transactions of `ahead`, of the same source, `self` lacks.
    fn missing_of(&self, ahead: &Self) -> u64 {
        let overlap = |&(start, end): &(u64, u64)| -> u64 {
            let common = |&(own_start, own_end): &(u64, u64)| {
                let (from, to) = (start.max(own_start), end.min(own_end));
                if from <= to { to - from + 1 } else { 0 }
            };
            self.ranges.iter().map(common).sum()
        };
        ahead
            .ranges
            .iter()
            .map(|range| range.1 - range.0 + 1 - overlap(range))
            .sum()
    }

    /// Takes in `other`'s transactions.
    fn merge(&mut self, other: &Self) {
        let ranges = self.ranges.iter().chain(other.ranges.iter()).copied();
        self.ranges = normalized(ranges.collect());
    }

    /// MySQL's text form, `3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:11`.
    fn text(&self) -> String {
        let hex = format!("{:032x}", self.source);
        let mut text = [
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..],
        ]
        .join("-");
        for &(start, end) in self.ranges.iter() {
            match start == end {
                true => text.push_str(&format!(":{start}")),
                false => text.push_str(&format!(":{start}-{end}")),
            }
        }
        text
    }

    /// `uuid:range[:range...]`, a range `n` or `n-m` with `0 < n <= m`.
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split(':');
        let source = parse_uuid(parts.next()?)?;
        let mut ranges = Vec::new();
        for range in parts {
            if ranges.len() == MOST_RANGES {
                return None;
            }
            let (start, end) = range.split_once('-').unwrap_or((range, range));
            let (start, end) = (digits(start)?, digits(end)?);
            if start == 0 || end < start {
                return None;
            }
            ranges.push((start, end));
        }
        if ranges.is_empty() {
            return None;
        }
        Some(Self {
            source,
            ranges: normalized(ranges),
        })
    }
}

/// Ranges sorted, with those that overlap or touch made one.
fn normalized(mut ranges: Vec<(u64, u64)>) -> Box<[(u64, u64)]> {
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged.into()
}

/// A UUID in its hyphenated text form, any case.
fn parse_uuid(text: &str) -> Option<u128> {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|group| group.len()).collect();
    if lengths != [8, 4, 4, 4, 12] || !text.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&groups.concat(), 16).ok()
}

/// A decimal number, digits only (no sign, no space).
fn digits(text: &str) -> Option<u64> {
    let plain = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    plain.then(|| text.parse().ok()).flatten()
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
/// Most ranges one source of a MySQL GTID set may have (each gap in what it executed
/// starts one).
const MOST_RANGES: usize = 64;

/// What separates the sources of a MySQL GTID set in a token: MySQL's `,` is refused in a
/// cookie, and `~` marks a signature.
const TOKEN_SOURCE_SEPARATOR: char = '!';

impl Position {
    /// Whether a server at `self` has everything a server at `other` had.
    pub(crate) fn covers(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Lsn(mine), Self::Lsn(theirs)) => mine >= theirs,
            (Self::Gtid(mine), Self::Gtid(theirs)) => theirs.iter().all(|gtid| {
                mine.iter()
                    .any(|own| own.domain == gtid.domain && own.sequence >= gtid.sequence)
            }),
            (Self::GtidSet(mine), Self::GtidSet(theirs)) => theirs.iter().all(|set| {
                mine.iter()
                    .any(|own| own.source == set.source && own.covers(set))
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
            (Self::GtidSet(mine), Self::GtidSet(theirs)) => theirs
                .iter()
                .map(
                    |set| match mine.iter().find(|own| own.source == set.source) {
                        Some(own) => own.missing_of(set),
                        None => set.ranges.iter().map(|(start, end)| end - start + 1).sum(),
                    },
                )
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
            (Self::GtidSet(mine), Self::GtidSet(theirs)) => {
                let mut merged: Vec<SourceSet> = mine.to_vec();
                for set in theirs.iter() {
                    match merged.iter_mut().find(|own| own.source == set.source) {
                        Some(own) => own.merge(set),
                        None => merged.push(set.clone()),
                    }
                }
                merged.sort_by_key(|set| set.source);
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

    /// MySQL's text form of a GTID set, `3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:11-18,
    /// uuid2:1-27` (sources apart by `,` and maybe a newline, as `@@gtid_executed` has them);
    /// `None` for an empty set (a server that never wrote, or GTIDs off) or one in a form
    /// not read (MySQL 8.3's tagged GTIDs).
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    pub(crate) fn parse_gtid_set(text: &str) -> Option<Self> {
        Self::parse_sources(text.trim(), ',')
    }

    fn parse_sources(text: &str, separator: char) -> Option<Self> {
        if text.is_empty() {
            return None;
        }
        let mut sets: Vec<SourceSet> = Vec::new();
        for set in text.split(separator) {
            if sets.len() == MOST_DOMAINS {
                return None;
            }
            let set = SourceSet::parse(set)?;
            match sets.iter_mut().find(|own| own.source == set.source) {
                Some(own) => own.merge(&set),
                None => sets.push(set),
            }
        }
        sets.sort_by_key(|set| set.source);
        Some(Self::GtidSet(sets.into()))
    }

    /// MySQL's text form, for `WAIT_FOR_EXECUTED_GTID_SET`.
    pub(crate) fn gtid_set_text(&self) -> Option<String> {
        let Self::GtidSet(sets) = self else {
            return None;
        };
        let sets: Vec<String> = sets.iter().map(SourceSet::text).collect();
        Some(sets.join(","))
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

    /// The form in a token: hexadecimal for an LSN, GTIDs joined by `_`, a GTID set's
    /// sources by `!` (no character a cookie refuses).
    fn token_text(&self) -> String {
        match self {
            Self::Lsn(lsn) => format!("{lsn:x}"),
            Self::Gtid(_) => self.gtid_text().unwrap_or_default().replace(',', "_"),
            Self::GtidSet(_) => {
                let text = self.gtid_set_text().unwrap_or_default();
                text.replace(',', &TOKEN_SOURCE_SEPARATOR.to_string())
            }
        }
    }

    fn from_token_text(text: &str) -> Option<Self> {
        if text.contains(':') {
            Self::parse_sources(text, TOKEN_SOURCE_SEPARATOR)
        } else if text.contains('-') {
            Self::parse_gtids(text, '_')
        } else {
            u64::from_str_radix(text, 16).ok().map(Self::Lsn)
        }
    }
}

/// A server's position, for stats: PostgreSQL's `16/B374D848`, MariaDB's `0-1-234`, MySQL's
/// `3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5`.
impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lsn(lsn) => write!(f, "{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF),
            Self::Gtid(_) => f.write_str(&self.gtid_text().unwrap_or_default()),
            Self::GtidSet(_) => f.write_str(&self.gtid_set_text().unwrap_or_default()),
        }
    }
}

/// Where a client's writes reached, per database: give it back to a later session (or
/// request, or job) and its reads see those writes, on a replica that has them or else on
/// the primary (when the fallback policy allows reads there). A position that is client
/// input (an unsigned token) and that the primary has not reached is ignored.
///
/// Obtained from [`Session::token`](crate::Session::token) after its writes, or from
/// [`Router::token`](crate::Router::token); given with
/// [`Session::with_token`](crate::Session::with_token). Its text form (`Display`,
/// `FromStr`, serde) is compact and safe in a cookie or a header: `default:16b374d848`,
/// `default:16b374d848.analytics:0-1-234`, with MySQL's GTID sets
/// `shop:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5!<uuid2>:1-27`. Text that does not parse
/// gives an empty token: a
/// token is a hint for freshness, never a reason for a call to fail.
///
/// A router configured with token keys
/// ([`RouterBuilder::token_key`](crate::RouterBuilder::token_key)) signs the tokens it
/// hands out (`default:16b374d848~1<mac>`) and ignores the ones it is given unsigned, or
/// signed with a key it does not hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Token {
    positions: Vec<(String, Position)>,
    /// The MAC of the positions' text, as given or as signed; any change of the positions
    /// drops it.
    seal: Option<Seal>,
}

/// A token's MAC: HMAC-SHA-256 truncated to its first 128 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seal([u8; SEAL_BYTES]);

const SEAL_BYTES: usize = 16;
/// Between the positions and the seal: a character no position text holds.
const SEAL_MARK: char = '~';
/// The signed form's version, first character of the seal.
const SEAL_VERSION: char = '1';
/// The seal's text: the version, then 16 bytes in 22 characters of unpadded base64url.
const SEAL_TEXT: usize = 1 + 22;
/// The longest token text: what 32 databases' positions take, and a seal.
const MOST_TEXT: usize = 64 * MOST_DATABASES;

impl Seal {
    fn parse(text: &str) -> Option<Self> {
        let mac = text.strip_prefix(SEAL_VERSION)?;
        if text.len() != SEAL_TEXT {
            return None;
        }
        let mut bytes = [0; SEAL_BYTES];
        let decoded = URL_SAFE_NO_PAD.decode_slice(mac, &mut bytes).ok()?;
        (decoded == SEAL_BYTES).then_some(Self(bytes))
    }
}

impl fmt::Display for Seal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SEAL_VERSION}{}", URL_SAFE_NO_PAD.encode(self.0))
    }
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The keys that sign and check tokens: the first signs, each one is accepted (so that a key
/// can be replaced without refusing the tokens clients hold). Never printed.
#[derive(Clone)]
pub(crate) struct TokenKeys(Arc<[HmacSha256]>);

/// Shortest key accepted: 128 bits.
pub(crate) const SHORTEST_KEY: usize = 16;

impl TokenKeys {
    /// Keys of at least [`SHORTEST_KEY`] bytes, the signing one first; `None` without any.
    pub(crate) fn new<K: AsRef<[u8]>>(keys: &[K]) -> Option<Self> {
        let keys: Vec<HmacSha256> = keys
            .iter()
            .filter_map(|key| HmacSha256::new_from_slice(key.as_ref()).ok())
            .collect();
        (!keys.is_empty()).then(|| Self(keys.into()))
    }

    /// The MAC of `body` (a token's positions as text) under `key`, not yet finished.
    fn mac(key: &HmacSha256, body: &str) -> HmacSha256 {
        let mut mac = key.clone();
        mac.update(b"diesel-route token 1\0");
        mac.update(body.as_bytes());
        mac
    }

    /// `token`, signed with the first key (an empty token stays unsigned).
    pub(crate) fn sign(&self, mut token: Token) -> Token {
        token.seal = (!token.is_empty()).then(|| {
            let tag = Self::mac(&self.0[0], &token.body()).finalize().into_bytes();
            let mut seal = [0; SEAL_BYTES];
            seal.copy_from_slice(&tag[..SEAL_BYTES]);
            Seal(seal)
        });
        token
    }

    /// Whether `token` is signed by one of the keys (compared in constant time), or empty.
    pub(crate) fn verify(&self, token: &Token) -> bool {
        let Some(seal) = token.seal else {
            return token.is_empty();
        };
        let body = token.body();
        self.0
            .iter()
            .any(|key| Self::mac(key, &body).verify_truncated_left(&seal.0).is_ok())
    }
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenKeys({} redacted)", self.0.len())
    }
}

impl Token {
    /// Whether it holds no position.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Takes in `other`'s positions: the later one per database. A signature does not
    /// survive a change: the router and sessions sign the tokens they hand out.
    pub fn merge(&mut self, other: &Token) {
        if self.is_empty() {
            // Nothing to merge: `other` as it is, with its signature.
            self.clone_from(other);
            return;
        }
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
        let before = self.positions.clone();
        self.merge_unsealed(database, position);
        if self.positions != before {
            self.seal = None;
        }
    }

    fn merge_unsealed(&mut self, database: &str, position: &Position) {
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

    /// Parses the text form, signed or not; `None` when it is not a token. A signature is
    /// kept, not checked: the router checks it against its keys.
    pub fn parse(text: &str) -> Option<Token> {
        if text.len() > MOST_TEXT {
            return None;
        }
        let (body, seal) = match text.rsplit_once(SEAL_MARK) {
            Some((body, seal)) => (body, Some(Seal::parse(seal)?)),
            None => (text, None),
        };
        let mut token = Self::parse_body(body)?;
        if token.is_empty() && seal.is_some() {
            // Never signed: an empty token is handed out as empty text.
            return None;
        }
        token.seal = seal;
        Some(token)
    }

    /// The positions' text form.
    fn parse_body(text: &str) -> Option<Token> {
        let mut token = Token::default();
        if text.is_empty() {
            return Some(token);
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
            token.merge_unsealed(database, &Position::from_token_text(position)?);
        }
        Some(token)
    }

    /// The positions' text form: what a seal signs.
    fn body(&self) -> String {
        let entries: Vec<String> = self
            .positions
            .iter()
            .map(|(database, position)| format!("{database}:{}", position.token_text()))
            .collect();
        entries.join(".")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.body())?;
        match &self.seal {
            Some(seal) => write!(f, "{SEAL_MARK}{seal}"),
            None => Ok(()),
        }
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
        assert_eq!(Token::parse(&"f".repeat(MOST_TEXT + 1)), None);
        assert_eq!(
            serde_json::from_str::<Token>("\"%%%\"").unwrap(),
            Token::default()
        );
    }

    fn keys(keys: &[&str]) -> TokenKeys {
        TokenKeys::new(keys).unwrap()
    }

    fn a_token() -> Token {
        let mut token = Token::default();
        token.merge_position("default", &Position::Lsn(0x16B374D848));
        token.merge_position("maria", &Position::parse_gtid("0-1-10,1-2-5").unwrap());
        token
    }

    #[test]
    fn signed_tokens_round_trip() {
        let key = keys(&["a key of thirty-two bytes, really"]);
        let signed = key.sign(a_token());
        let text = signed.to_string();
        let (body, seal) = text.split_once(SEAL_MARK).unwrap();
        assert_eq!(body, "default:16b374d848.maria:0-1-10_1-2-5");
        assert_eq!(seal.len(), SEAL_TEXT);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_graphic() && !b";,\\\"".contains(&b))
        );
        let parsed = Token::parse(&text).unwrap();
        assert_eq!(parsed, signed);
        assert!(key.verify(&parsed));
        assert!(!key.verify(&a_token()), "unsigned");
        assert!(key.verify(&Token::default()), "empty: nothing to honour");
        assert_eq!(key.sign(Token::default()).to_string(), "");
        let json = serde_json::to_string(&signed).unwrap();
        assert!(key.verify(&serde_json::from_str::<Token>(&json).unwrap()));
    }

    #[test]
    fn a_signature_does_not_survive_a_change() {
        let key = keys(&["a key of thirty-two bytes, really"]);
        let mut signed = key.sign(a_token());
        let mut empty = Token::default();
        empty.merge(&signed);
        assert!(key.verify(&empty), "merged into nothing: the same token");
        let mut later = Token::default();
        later.merge_position("default", &Position::Lsn(0x16B374D900));
        signed.merge(&later);
        assert!(!key.verify(&signed));
        assert!(!signed.to_string().contains(SEAL_MARK));
    }

    #[test]
    fn keys_rotate() {
        let old = keys(&["the old key, sixteen bytes or more"]);
        let both = keys(&[
            "the new key, sixteen bytes or more",
            "the old key, sixteen bytes or more",
        ]);
        let new = keys(&["the new key, sixteen bytes or more"]);
        let by_old = old.sign(a_token());
        let by_both = both.sign(a_token());
        assert!(both.verify(&by_old) && both.verify(&by_both));
        assert!(new.verify(&by_both) && !new.verify(&by_old));
        assert!(!old.verify(&by_both), "signed with the new key");
        assert!(format!("{both:?}").contains("redacted") && !format!("{both:?}").contains("key"));
    }

    #[test]
    fn every_mangling_of_a_signed_token_is_refused() {
        let key = keys(&["a key of thirty-two bytes, really"]);
        let text = key.sign(a_token()).to_string();
        let refused = |text: &str| Token::parse(text).is_none_or(|token| !key.verify(&token));
        // Each character changed, each length cut.
        for at in 0..text.len() {
            for replacement in ["0", "z", "~", "!", "-", "_", "."] {
                let mut mangled = text.clone();
                mangled.replace_range(at..=at, replacement);
                if mangled != text {
                    assert!(refused(&mangled), "{mangled}");
                }
            }
            assert!(
                refused(&text[..at]) || text[..at].is_empty(),
                "{}",
                &text[..at]
            );
        }
        let (body, seal) = text.split_once(SEAL_MARK).unwrap();
        for mangled in [
            format!("{body}{SEAL_MARK}2{}", &seal[1..]),
            format!("{body}{SEAL_MARK}{seal}A"),
            format!("{body}{SEAL_MARK}{seal}{SEAL_MARK}{seal}"),
            format!("{body}.other:1{SEAL_MARK}{seal}"),
            format!("{body}{SEAL_MARK}{}=", &seal[..seal.len() - 1]),
            format!("{body}{SEAL_MARK}"),
            format!("{SEAL_MARK}{seal}"),
            format!("{body}{SEAL_MARK}{}", "1".repeat(10_000)),
        ] {
            assert!(refused(&mangled), "{mangled}");
        }
        let other = keys(&["another key of thirty-two bytes!"]);
        assert!(refused(&other.sign(a_token()).to_string()));
    }

    const A: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const B: &str = "b2a1c0de-0000-4000-8000-00000000000f";

    #[test]
    fn gtid_sets_parse_every_form() {
        let upper = format!("{}:1-5:11-18,\n{B}:7", A.to_uppercase());
        let set = Position::parse_gtid_set(&upper).unwrap();
        assert_eq!(set.to_string(), format!("{A}:1-5:11-18,{B}:7"));
        // Ranges out of order, overlapping or touching, and a source named twice.
        let messy = Position::parse_gtid_set(&format!("{A}:11-18:3-6,{A}:1-2:19")).unwrap();
        assert_eq!(messy.to_string(), format!("{A}:1-6:11-19"));
        assert_eq!(Position::parse_gtid_set(""), None);
        assert_eq!(Position::parse_gtid_set(" \n"), None);
        for bad in [
            A.to_owned(),
            format!("{A}:"),
            format!("{A}:0-3"),
            format!("{A}:5-3"),
            format!("{A}:1-x"),
            format!("{A}:+1"),
            format!("{A}:1--2"),
            format!("{A}:mytag:1-3"),
            format!("{A}:99999999999999999999"),
            "3e11fa47-71ca-11e1-9e33:1".to_owned(),
            "3e11fa4771ca11e19e33c80aa9429562:1".to_owned(),
            "zz11fa47-71ca-11e1-9e33-c80aa9429562:1".to_owned(),
            format!("{A}:1,"),
            format!("{A}:1:3:5:x"),
        ] {
            assert_eq!(Position::parse_gtid_set(&bad), None, "{bad}");
        }
        let many_ranges: Vec<String> = (1..=65).map(|n| (n * 2).to_string()).collect();
        let many_ranges = format!("{A}:{}", many_ranges.join(":"));
        assert_eq!(Position::parse_gtid_set(&many_ranges), None);
    }

    #[test]
    fn gtid_sets_cover_merge_and_count_what_is_missing() {
        let replica = Position::parse_gtid_set(&format!("{A}:1-10,{B}:1-3")).unwrap();
        let write = Position::parse_gtid_set(&format!("{A}:1-12")).unwrap();
        assert!(!replica.covers(&write) && !write.covers(&replica));
        assert_eq!(replica.behind(&write), 2);
        assert_eq!(write.behind(&replica), 3);
        // A gap is not covered by the ranges around it.
        let gapped = Position::parse_gtid_set(&format!("{A}:1-4:6-12")).unwrap();
        assert!(!gapped.covers(&write) && write.covers(&gapped));
        assert_eq!(gapped.behind(&write), 1);
        let mut merged = replica.clone();
        merged.merge(&write);
        assert_eq!(merged.to_string(), format!("{A}:1-12,{B}:1-3"));
        assert!(merged.covers(&replica) && merged.covers(&write));
        assert_eq!(merged.partial_cmp(&replica), Some(Ordering::Greater));
        // Kinds do not mix: a GTID set says nothing of a MariaDB position.
        let maria = Position::parse_gtid("0-1-10").unwrap();
        assert!(!merged.covers(&maria) && !maria.covers(&merged));
        merged.merge(&maria);
        assert_eq!(merged.to_string(), format!("{A}:1-12,{B}:1-3"));
        let far = Position::parse_gtid_set(&format!("{A}:18446744073709551615")).unwrap();
        assert_eq!(write.behind(&far), 1);
    }

    #[test]
    fn signed_gtid_set_tokens_round_trip() {
        let key = keys(&["a key of thirty-two bytes, really"]);
        let mut token = Token::default();
        let set = Position::parse_gtid_set(&format!("{A}:1-5,{B}:1-27")).unwrap();
        token.merge_position("shop", &set);
        let text = key.sign(token).to_string();
        let parsed = Token::parse(&text).unwrap();
        assert!(key.verify(&parsed), "{text}");
        assert_eq!(parsed.position("shop"), Some(&set));
    }

    #[test]
    fn gtid_set_tokens_round_trip_cookie_safe() {
        let mut token = Token::default();
        let set = Position::parse_gtid_set(&format!("{A}:1-5:11-18,{B}:1-27")).unwrap();
        token.merge_position("shop", &set);
        token.merge_position("default", &Position::Lsn(0x10));
        let text = token.to_string();
        assert_eq!(text, format!("default:10.shop:{A}:1-5:11-18!{B}:1-27"));
        let cookie_safe = |b: u8| b.is_ascii_graphic() && !b",;\\\"".contains(&b);
        assert!(text.bytes().all(cookie_safe), "{text}");
        assert_eq!(Token::parse(&text), Some(token.clone()));
        let json = serde_json::to_string(&token).unwrap();
        assert_eq!(serde_json::from_str::<Token>(&json).unwrap(), token);
        for bad in [
            format!("shop:{A}"),
            format!("shop:{A}:1,{B}:2"),
            format!("shop:{A}:1!"),
            format!("shop:{A}:0"),
            format!("shop:{A}:1:tag:2"),
        ] {
            assert_eq!(Token::parse(&bad), None, "{bad}");
        }
        let huge = format!("shop:{A}:{}", "1:".repeat(2000));
        assert_eq!(Token::parse(&huge), None);
    }
}
