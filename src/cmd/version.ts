/** The version printed by `meshmetrics --version` and reported in build info. */
export const VERSION = '0.1.0';
