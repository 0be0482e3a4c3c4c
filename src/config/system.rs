//! `[system]` in cage.toml: the addresses of the hosts of each layer of the system, which a
//! profile's `reach` (`cell:22`) turns into what `network = "layer"` may connect to.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use crate::policy::reach::{Cidr, SystemHosts};
use crate::policy::Layer;
use crate::shown::shown;
use crate::source::SourceError;

pub(super) type RawSystem = BTreeMap<Spanned<String>, Vec<Spanned<String>>>;

pub(super) fn parse(
    raw: RawSystem,
    at: &impl Fn(Range<usize>, String) -> SourceError,
) -> Result<SystemHosts, SourceError> {
    let mut system = SystemHosts::new();
    for (layer, addresses) in raw {
        let Some(parsed) = Layer::parse(layer.get_ref()) else {
            let msg = format!(
                "unknown layer `{}` in [system] (cps, host, cell or guest_vm)",
                shown(layer.get_ref())
            );
            return Err(at(layer.span(), msg));
        };
        let mut nets = Vec::with_capacity(addresses.len());
        for address in addresses {
            let Some(net) = Cidr::parse(address.get_ref()) else {
                let msg = format!("`{}` is not an address or ADDRESS/PREFIX", shown(address.get_ref()));
                return Err(at(address.span(), msg));
            };
            nets.push(net);
        }
        system.insert(parsed, nets);
    }
    Ok(system)
}
