//! Replication positions, and the tokens that carry a client's last write between its
//! requests so that its reads see it (read your writes).
//!
//! A position is where a server's data stands: PostgreSQL's WAL LSN, MariaDB's GTID position
//! (a sequence number per replication domain). A primary's position after a write covers
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
            for replacement in ["0", "z", "~", "-", "_", "."] {
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
}
