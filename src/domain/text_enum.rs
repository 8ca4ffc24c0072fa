//! Enums stored and sent as text: one declaration gives the names, `as_str`, `parse` and
//! `Display`, so the stored form, the API form and the code cannot drift apart.

/// What every `text_enum!` is: the storage adapters read and write columns through it (one
/// column codec for all of them, kept out of the domain).
pub trait TextEnum: Copy + Send + Sync + 'static {
    /// The enum's name, for a stored name no value has.
    const NAME: &'static str;

    const ALL: &'static [Self];

    fn as_str(self) -> &'static str;

    fn parse(text: &str) -> Option<Self>;
}

/// Declares an enum whose variants each have a text name:
/// `text_enum! { pub enum Kind { A => "a", B => "b" } }`. Serde attributes on the enum must give
/// the same names (each enum's tests check `ALL` against its serde form).
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored and sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value a stored name stands for; `None` for a name no value has.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl $crate::domain::text_enum::TextEnum for $name {
            const NAME: &'static str = stringify!($name);

            const ALL: &'static [$name] = $name::ALL;

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }

            fn parse(text: &str) -> Option<$name> {
                $name::parse(text)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::TextEnum;
    use crate::domain::model::{LicensingModel, Solution};
    use crate::domain::outcome::Trigger;
    use crate::domain::role::Role;

    fn names_are_serde_names<T: TextEnum + Serialize>() {
        for &value in T::ALL {
            assert_eq!(serde_json::to_value(value).unwrap(), value.as_str());
        }
    }

    #[test]
    fn stored_names_are_the_serde_names() {
        names_are_serde_names::<Role>();
        names_are_serde_names::<Trigger>();
        names_are_serde_names::<Solution>();
        names_are_serde_names::<LicensingModel>();
    }
}
