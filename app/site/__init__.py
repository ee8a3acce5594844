"""What the site is, pure: which documents exist and what they show, the URL map, the archive and its figures, system state and health."""
