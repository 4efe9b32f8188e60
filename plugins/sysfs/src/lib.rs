//! sysfs (to come)
