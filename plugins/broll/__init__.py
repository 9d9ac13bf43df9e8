"""B-roll providers: the local library of the user's own clips and pictures, and Pexels stock video."""
