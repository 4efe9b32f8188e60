//! lexi-sim: a simulator of the u-blox LEXI-R10 module's AT interface.
