"""Decision policies: given what is known at time t (read-only), return orders."""
