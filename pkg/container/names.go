package container

import (
	"math/rand/v2"
)

// Generated names are ADJECTIVE_SURNAME, like docker's and podman's, from skiff's own lists:
// adjectives of weather and water, surnames of people who charted the sea and the sky.
var (
	adjectives = []string{
		"brisk", "calm", "clear", "crisp", "dry", "fair", "foggy", "fresh", "gentle", "glassy",
		"hazy", "icy", "keen", "light", "mild", "misty", "quiet", "rapid", "rolling", "salty",
		"sharp", "silver", "sleek", "smooth", "snug", "steady", "still", "stormy", "sunny", "swift",
		"tidal", "warm", "windy", "wintry", "amber", "bold", "bright", "deep", "eager", "frosty",
	}
	surnames = []string{
		"ballard", "bligh", "cabot", "carson", "cook", "cousteau", "dampier", "darwin", "drake", "earle",
		"fitzroy", "franklin", "gagnan", "hanno", "heyerdahl", "hudson", "humboldt", "bering", "magellan", "maury",
		"mercator", "nansen", "pytheas", "ross", "scoresby", "shackleton", "slocum", "tasman", "tharp", "vancouver",
		"vespucci", "zheng", "leavitt", "herschel", "halley", "kepler", "hubble", "rubin", "tereshkova", "ride",
	}
)

// RandomName returns a generated container name.
func RandomName() string {
	return adjectives[rand.IntN(len(adjectives))] + "_" + surnames[rand.IntN(len(surnames))]
}
