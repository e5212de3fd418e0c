//! The web dashboard, `GET /ui/…` on `lineage serve` (behind its basic auth when it has one)
//! and on `lineage webhook`: repositories, lineages as timelines, an image's status, records
//! and referrer tree, a fleet audit, and search. It answers for the images the policy routes
//! answer for ([`crate::policy::scope`]) and reaches every status through the same cached
//! [`Lookup`](lineage_lifecycle::Lookup), so `Engine::status_from` decides each one; the
//! fleet audit is `lineage audit`'s ([`lineage_integrations::audit`]).
//!
//! | route | page |
//! |---|---|
//! | `GET /ui` | the repositories (`serve`'s own), or how to find one |
//! | `GET /ui/repo?name=REGISTRY/REPO` | a repository's lineages and other tags |
//! | `GET /ui/lineage?repo=REGISTRY/REPO&version=V` | a lineage's timeline |
//! | `GET /ui/image?ref=REF` | an image: status, records, referrer tree, commands |
//! | `GET /ui/status.json?ref=REF` | the image's `lineage status --output json` |
//! | `GET /ui/fleet`, `POST /ui/fleet` | the fleet audit (`format=html`, `markdown` or `json`) |
//! | `GET /ui/search?q=…` | a reference, a repository or a digest |
//! | `GET /ui/assets/NAME` | the stylesheet, the script and the icon, built in |
//!
//! Pages are written on the server from view models by pure functions (`layout`,
//! `timeline`, `image`, `fleet`, `pages`), every value through one escaping function
//! (`html`); the handlers (`handlers`) gather the facts and time the two steps in a
//! `Server-Timing` header. No CDN, nothing to build: the three assets are compiled in.

pub mod fleet;
mod handlers;
mod html;
pub mod image;
pub mod layout;
pub mod pages;
pub mod timeline;

pub(crate) use handlers::router;
