"""Named landmark indices of mediapipe's 478-point face mesh (refined: 468 mesh + 10 iris points).

"Right"/"left" are the subject's; in an unmirrored photo the subject's right is image-left.
"""

from __future__ import annotations

N_LANDMARKS = 478
IRIS = tuple(range(468, 478))

FOREHEAD_TOP = 10
CHIN_BOTTOM = 152
NOSE_TIP = 1
MOUTH_CORNER_R = 61
MOUTH_CORNER_L = 291
INNER_CORNER_R = 78
INNER_CORNER_L = 308

# Inner lip contours, right corner to left corner, paired column by column.
UPPER_INNER = (191, 80, 81, 82, 13, 312, 311, 310, 415)
LOWER_INNER = (95, 88, 178, 87, 14, 317, 402, 318, 324)
# Outer lip contours, right corner to left corner (corners excluded).
UPPER_OUTER = (185, 40, 39, 37, 0, 267, 269, 270, 409)
LOWER_OUTER = (146, 91, 181, 84, 17, 314, 405, 321, 375)
# The inner-lip polygon, clockwise in image coordinates: along the upper lip, back along the lower.
INNER_LIP_POLYGON = (INNER_CORNER_R, *UPPER_INNER, INNER_CORNER_L, *reversed(LOWER_INNER))

FACE_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)

# Eyelids, outer corner to inner corner, upper paired with lower column by column.
RIGHT_EYE_UPPER = (246, 161, 160, 159, 158, 157, 173)
RIGHT_EYE_LOWER = (7, 163, 144, 145, 153, 154, 155)
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_UPPER = (466, 388, 387, 386, 385, 384, 398)
LEFT_EYE_LOWER = (249, 390, 373, 374, 380, 381, 382)
LEFT_EYE_CORNERS = (263, 362)
RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)

# Pairs used to measure the inner-lip gap (upper, lower).
LIP_GAP_PAIRS = ((13, 14), (82, 87), (312, 317))
