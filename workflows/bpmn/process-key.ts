/** The process key becomes the definition key and the prefix of every instance id (`key:businessKey`). */
export const processKeyPattern = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
